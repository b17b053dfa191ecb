"""Triage lists the earlier incidents most like this one, with links to their postmortems."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from markdown_it import MarkdownIt

from incident_ops.context import IncidentContext, PhaseInput
from incident_ops.history import PastIncident
from incident_ops.phases import BY_ID
from incident_ops.phases.similar import MAX_SIMILAR, Profile, most_similar, score
from incident_ops.phases.triage import Output as Triage
from tests.conftest import DEMO
from tests.test_phases_harness import load_context, render_phase

RESOLVED = datetime.fromisoformat("2026-04-02T10:00:00+00:00")


def _past(number: int, title: str, services: list[str], **fields: object) -> PastIncident:
    return PastIncident.model_validate(
        {
            "id": f"2026-04-0{number}-{number}-{re.sub(r'[^a-z]+', '-', title.lower())[:30]}",
            "issue": number,
            "title": title,
            "services": services,
            "resolved": RESOLVED,
            **fields,
        }
    )


PAST = [
    _past(
        3,
        "Booking quotes failing after pricing release",
        ["booking-api", "pricing-service"],
        severity="P1",
        type="service-outage",
        root_cause_service="pricing-service",
        root_cause="pricing-service deploy broke quote calculation for promo codes",
    ),
    _past(4, "Unlock button slow in the app", ["unlock-service"], type="performance-degradation"),
    _past(
        5,
        "Fleet database failover",
        ["fleet-db"],
        type="infrastructure-failure",
        root_cause_service="fleet-db",
    ),
    _past(
        6,
        "Booking page errors",
        ["booking-api"],
        severity="P2",
        type="service-outage",
        root_cause_service="booking-api",
    ),
    _past(7, "Pricing quotes wrong", ["pricing-service"], type="data-integrity"),
]


def _context(past: list[PastIncident]) -> IncidentContext:
    return replace(load_context(DEMO), past_incidents=past)


def _triage(context: IncidentContext) -> Triage:
    output = BY_ID["triage"].offline(PhaseInput(context=context))
    assert isinstance(output, Triage)
    return output


def test_triage_lists_the_most_similar_earlier_incidents_best_first() -> None:
    triage = _triage(_context(PAST))
    found = [s.issue for s in triage.similar_incidents]
    # same services, root-cause service, type and words, then a partial match; the
    # incidents in other services (4, 5) are not listed
    assert found[:2] == [3, 6]
    assert not {4, 5} & set(found)
    assert len(found) <= MAX_SIMILAR
    best = triage.similar_incidents[0]
    assert best.postmortem == f"../{PAST[0].id}/postmortem.md"
    assert any("booking-api" in reason for reason in best.reasons)
    assert any("pricing-service" in reason for reason in best.reasons)
    scores = [s.score for s in triage.similar_incidents]
    assert scores == sorted(scores, reverse=True)


def test_the_triage_page_links_each_similar_postmortem() -> None:
    context = _context(PAST)
    page = render_phase(BY_ID["triage"], _triage(context), context)
    section = page.split("## Similar past incidents", 1)[1].split("\n## ", 1)[0]
    tokens = MarkdownIt("commonmark").enable("table").parse(section)
    links = [
        child.attrs["href"]
        for token in tokens
        for child in token.children or []
        if child.type == "link_open"
    ]
    assert links[0] == f"../{PAST[0].id}/postmortem.md"
    assert "Booking quotes failing after pricing release" in section


def test_nothing_similar_or_no_history_lists_nothing() -> None:
    unrelated = [PAST[3 - 2], PAST[4 - 2]]  # the unlock and database incidents
    for past in ([], unrelated):
        context = _context(past)
        triage = _triage(context)
        assert triage.similar_incidents == []
        page = render_phase(BY_ID["triage"], triage, context)
        assert "None found among the incidents recorded" in page


def test_an_index_entry_cannot_make_a_link_leave_the_incidents_folder() -> None:
    hostile = PAST[0].model_copy(update={"id": "../../.github/workflows"})
    own = PAST[0].model_copy(update={"id": load_context(DEMO).record.id})
    triage = _triage(_context([hostile, own]))
    assert triage.similar_incidents == []


def test_the_score_weighs_services_above_words() -> None:
    profile = Profile(title="Checkout errors after deploy", services=["checkout-api"])
    same_service = _past(1, "Cart totals wrong", ["checkout-api"])
    same_words = _past(2, "Checkout errors after deploy", ["search-service"])
    assert score(profile, same_service)[0] > score(profile, same_words)[0]
    assert most_similar(profile, [same_words]) == []  # words alone are not enough
