"""pytest fixtures: a running GitHub double with a seeded repository, and a forge on it.

The lead's tests/conftest.py can offer them to every test with
`pytest_plugins = ["tests.github_double.fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from incident_ops.forge.github import GitHubForge, retry_policy
from tests.github_double.server import GitHubDouble
from tests.github_double.state import Repository

OWNER = "Codertocat"  # the owner in GitHub's sample webhook payloads
REPO = "Hello-World"
TOKEN = "ghs_double_workflow_token"
BOT = "github-actions[bot]"
STARTER_CONFIG = """\
# incident-ops configuration for the test repository
labels:
  incident: incident
triggers:
  min_permission: triage
services:
  checkout:
    tier: 1
    owners: [payments-team]
    slo:
      availability: 99.9
"""

# Who is who on the seeded repository (login -> role; absent means an outsider).
PEOPLE = {
    OWNER: "admin",
    "maintainer-mia": "maintain",
    "dev-dana": "write",
    "support-sam": "triage",
    "reader-rae": "read",
}


def seed_repository(owner: str = OWNER, name: str = REPO) -> Repository:
    """A public repository whose default branch `main` holds incident-ops.yml and a README,
    the workflow's token (github-actions[bot], write), the people above and one team."""
    repo = Repository(owner=owner, name=name)
    repo.add_token(TOKEN, BOT, "write")
    for login, role in PEOPLE.items():
        repo.add_user(login, role)
    repo.add_user("outsider-olly")
    repo.add_user("dependabot[bot]", None, "Bot")
    repo.teams.add("payments-team")  # the owner of checkout in STARTER_CONFIG
    repo.ensure_label("bug", "d73a4a", "Something isn't working")
    repo.commit_files(
        "main",
        {"README.md": f"# {name}\n", "incident-ops.yml": STARTER_CONFIG},
        "Initial commit",
        owner,
    )
    return repo


def forge_for(double: GitHubDouble, **kwargs: object) -> GitHubForge:
    """A GitHubForge on the double, without pauses and with quick retries."""
    options: dict[str, object] = {
        "base_url": double.url,
        "seconds_between_writes": 0.0,
        "retry": retry_policy(max_wait_s=5, secondary_wait_s=1, backoff_factor=0.01),
    }
    options.update(kwargs)
    return GitHubForge(double.repo.full_name, TOKEN, **options)  # type: ignore[arg-type]


@contextmanager
def started_double(
    repo: Repository | None = None, *, subset_only: bool = False
) -> Iterator[GitHubDouble]:
    """A running double (on the seeded repository unless given one), stopped after."""
    double = GitHubDouble(repo or seed_repository(), subset_only=subset_only).start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    with started_double() as double:
        yield double


@pytest.fixture
def github_forge(github_double: GitHubDouble) -> GitHubForge:
    return forge_for(github_double)
