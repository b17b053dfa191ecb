"""Text-only reports on a catalog the tuning set never used: the analysis reads the kind
of failure from the report's own words, and names no root cause without evidence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from incident_ops.config import Config, Service
from incident_ops.evidence.collect import build_digest
from incident_ops.forge.base import Issue

CATALOG = Config(
    services={
        "storefront": Service(tier=1, aliases=["site", "shop"], depends_on=["orders", "identity"]),
        "orders": Service(tier=1, aliases=["order service"], depends_on=["orders-pg", "mailer"]),
        "identity": Service(tier=1, aliases=["login", "sign-in"], depends_on=["okta"]),
        "orders-pg": Service(tier=1, aliases=["orders database"]),
        "mailer": Service(tier=3),
        "okta": Service(external=True, aliases=["Okta"]),
    }
)


@pytest.mark.parametrize(
    ("title", "body", "kind", "service"),
    [
        (
            "Nobody can sign in",
            "Since 08:00 UTC every login attempt fails. Okta status page shows a major "
            "outage in our region. Existing sessions still work.",
            "third-party-disruption",
            "identity",
        ),
        (
            "Order confirmation emails delayed",
            "Confirmation emails arrive 2-3 hours late. Orders are placed fine and charged "
            "correctly. The mailer queue depth is growing.",
            "performance-degradation",
            "mailer",
        ),
        (
            "Orders DB disk almost full",
            "orders-pg primary at 98% disk and since 01:52 some order inserts fail with "
            "could not extend file: No space left on device. 12% of checkouts error out.",
            "infrastructure-failure",
            "orders-pg",
        ),
        (
            "Login slow",
            "Login feels slow this morning, maybe Okta? Not sure, could just be us.",
            "performance-degradation",
            "identity",
        ),
    ],
)
def test_kind_of_failure_from_the_report(title: str, body: str, kind: str, service: str) -> None:
    issue = Issue(number=1, title=title, body=body, author="a", created_at=datetime.now(UTC))
    digest = build_digest(issue, [], [], CATALOG)
    assert digest.type.type == kind, digest.type.reasons
    assert service in digest.service_names()
    assert digest.root_cause.service is None  # prose alone proves no root cause
