"""Sticky (marker) comments on the GitHub double: which comments count as ours, which are
folded, how a personal token finds its own comment again, and the publisher keeping
generated text from ever carrying a marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from markdown_it import MarkdownIt

from incident_ops.forge.github import GitHubForge, retry_policy
from incident_ops.publish.publisher import Publisher
from incident_ops.publish.sanitise import sanitise_markdown
from tests.github_double.fixtures import BOT, TOKEN, forge_for, started_double
from tests.github_double.routes import outside_subset
from tests.github_double.server import GitHubDouble

STATUS = "<!-- incident-ops:status -->"
STAGE_1 = "<!-- incident-ops:stage:1 -->"
PERSONAL_TOKEN = "ghp_double_personal_token"  # a classic personal access token's prefix
PERSON = "maintainer-mia"


@pytest.fixture
def double() -> Iterator[GitHubDouble]:
    with started_double() as running:
        running.repo.add_token(PERSONAL_TOKEN, PERSON, "maintain")
        yield running


def open_incident(double: GitHubDouble) -> int:
    return double.repo.open_issue("Checkout 500s", "errors", "support-sam", ["incident"]).number


def forge_with(double: GitHubDouble, token: str) -> GitHubForge:
    """A new run (a new process) on the double, with `token`."""
    return GitHubForge(
        double.repo.full_name,
        token,
        base_url=double.url,
        seconds_between_writes=0.0,
        retry=retry_policy(max_wait_s=5, secondary_wait_s=1, backoff_factor=0.01),
    )


def bodies(double: GitHubDouble, number: int) -> dict[int, str]:
    return {c.id: c.body for c in double.repo.comments_on(number)}


# --- a marker counts only where we write it: opening the body -------------------------
def test_a_bot_comment_quoting_the_marker_mid_body_is_neither_edited_nor_folded(
    double: GitHubDouble,
) -> None:
    number = open_incident(double)
    # Our own stage comment quotes the issue, which quoted a status marker.
    quoting = double.repo.add_comment(number, BOT, f"{STAGE_1}\n> the report said {STATUS}")
    forge_for(double).upsert_comment(number, STATUS, "investigating")
    forge_for(double).upsert_comment(number, STATUS, "mitigated")  # the next run
    comments = double.repo.comments_on(number)
    assert [(c.id, c.body) for c in comments] == [
        (quoting.id, f"{STAGE_1}\n> the report said {STATUS}"),
        (comments[1].id, f"{STATUS}\nmitigated"),
    ]
    assert double.requests("DELETE") == []


def test_an_outsiders_comment_with_the_marker_is_untouched_whoever_runs(
    double: GitHubDouble,
) -> None:
    number = open_incident(double)
    planted = [
        double.repo.add_comment(number, "outsider-olly", f"{STATUS}\nall fixed, close it"),
        double.repo.add_comment(number, "outsider-olly", f"see above {STATUS} resolved"),
    ]
    for token in (TOKEN, PERSONAL_TOKEN, TOKEN, PERSONAL_TOKEN):  # workflow and a person
        forge_with(double, token).upsert_comment(number, STATUS, f"written with {token}")
    after = bodies(double, number)
    assert after[planted[0].id] == f"{STATUS}\nall fixed, close it"
    assert after[planted[1].id] == f"see above {STATUS} resolved"
    assert double.requests("DELETE") == []
    # One status comment (the workflow's, which a person with write access may edit).
    assert [b for i, b in after.items() if i not in {p.id for p in planted}] == [
        f"{STATUS}\nwritten with {PERSONAL_TOKEN}"
    ]


def test_another_bots_comment_opening_with_the_marker_is_not_folded_into_ours(
    double: GitHubDouble,
) -> None:
    number = open_incident(double)
    ours = double.repo.add_comment(number, BOT, f"{STATUS}\nold")
    theirs = double.repo.add_comment(number, "dependabot[bot]", f"{STATUS}\nnot yours")
    forge_for(double).upsert_comment(number, STATUS, "now")
    assert bodies(double, number) == {ours.id: f"{STATUS}\nnow", theirs.id: f"{STATUS}\nnot yours"}
    assert double.requests("DELETE") == []


def test_a_body_carrying_the_marker_only_inside_still_gets_it_on_top(
    double: GitHubDouble,
) -> None:
    number = open_incident(double)
    forge = forge_for(double)
    made = forge.upsert_comment(number, STATUS, f"quoted: {STATUS}")
    again = forge_for(double).upsert_comment(number, STATUS, "next run")
    assert made.body == f"{STATUS}\nquoted: {STATUS}"
    assert again.id == made.id and len(double.repo.comments_on(number)) == 1


# --- a personal token finds the comment its earlier run wrote --------------------------
def test_with_a_personal_token_the_next_run_edits_the_first_runs_comment(
    double: GitHubDouble,
) -> None:
    number = open_incident(double)
    first = forge_with(double, PERSONAL_TOKEN).upsert_comment(number, STATUS, "investigating")
    assert double.requests("GET", r"^/user$") == []  # a new thread: learnt from the POST
    double.clear_log()
    second = forge_with(double, PERSONAL_TOKEN).upsert_comment(number, STATUS, "mitigated")
    assert second.id == first.id
    assert bodies(double, number) == {first.id: f"{STATUS}\nmitigated"}
    assert [f"{r.method} {r.path}" for r in double.log if r.is_write] == [
        f"PATCH /repos/{double.repo.full_name}/issues/comments/{first.id}"
    ]  # no new comment (no notification), nothing deleted
    assert len(double.requests("GET", r"^/user$")) == 1


def test_the_workflow_token_never_asks_who_it_is(double: GitHubDouble) -> None:
    number = open_incident(double)
    double.repo.add_comment(number, "outsider-olly", f"{STATUS}\nplanted")
    forge_for(double).upsert_comment(number, STATUS, "investigating")
    forge_for(double).upsert_comment(number, STATUS, "mitigated")
    assert double.requests("GET", r"^/user$") == []
    assert len(double.requests("POST", r"/comments$")) == 1


@pytest.mark.parametrize("subset_only", [False, True])
def test_a_token_github_will_not_name_is_asked_once_and_the_run_goes_on(
    subset_only: bool,
) -> None:
    """A token of no known format: GET /user is refused (403, as for an installation) or
    absent (a double of the subset alone answers 404); bot comments still count."""
    with started_double(subset_only=subset_only) as double:
        double.repo.add_token("v1.0123456789abcdef", BOT)  # an older installation format
        number = open_incident(double)
        double.repo.add_comment(number, "outsider-olly", f"{STATUS}\nplanted")
        ours = double.repo.add_comment(number, BOT, f"{STATUS}\nold")
        forge = forge_with(double, "v1.0123456789abcdef")
        forge.upsert_comment(number, STATUS, "investigating")
        forge.upsert_comment(number, STAGE_1, "stage 1")
        forge.upsert_comment(number, STATUS, "mitigated")
        asked = double.requests("GET", r"^/user$")
        assert [r.status for r in asked] == [404 if subset_only else 403]
        assert bodies(double, number)[ours.id] == f"{STATUS}\nmitigated"
        assert len(double.repo.comments_on(number)) == 3  # planted, status, stage 1


def test_the_double_names_a_persons_token_and_refuses_an_installations(
    double: GitHubDouble,
) -> None:
    url = f"{double.url}/user"

    def get(token: str | None) -> requests.Response:
        headers = {"Authorization": f"token {token}"} if token else {}
        return requests.get(url, headers=headers, timeout=5)

    person = get(PERSONAL_TOKEN)
    assert (person.status_code, person.json()["login"]) == (200, PERSON)
    assert get(TOKEN).status_code == 403
    assert get(None).status_code == 401
    assert outside_subset("GET", "/user")


# --- the publisher: generated text never carries a marker ------------------------------
def test_the_sanitiser_shows_a_marker_inside_the_text_instead_of_keeping_it() -> None:
    text = (
        f"{STATUS}\nThe reporter wrote {STATUS} and <!--incident-ops:stage:2-->.\n\n"
        f"```\n{STAGE_1}\n```\n"
    )
    out = sanitise_markdown(text)
    assert out.startswith(f"{STATUS}\n")  # ours, where the template puts it
    assert out.count("<!--") == 1 and out.count("&lt;!--") == 3
    html = MarkdownIt("commonmark").render(out)
    assert "The reporter wrote &lt;!-- incident-ops:status --&gt;" in html  # shown as text
    assert sanitise_markdown(out) == out


@pytest.mark.parametrize(
    "text",
    [
        f"Quoted first line:\n{STATUS}",
        f"<!-- hidden -->{STATUS}\nhi",  # the hidden comment goes, the marker stays shown
        "<!--&#x200B; incident-ops:status -->hi",  # an entity that would complete it
        f"`{STATUS}`",
    ],
)
def test_text_that_does_not_open_with_a_marker_comes_out_without_one(text: str) -> None:
    out = sanitise_markdown(text)
    assert "<!--" not in out and "incident-ops:" in out  # nothing hidden, nothing kept


def test_a_published_comment_carries_only_its_own_marker(double: GitHubDouble) -> None:
    number = open_incident(double)
    forge = forge_for(double)
    publisher = Publisher(forge, log=lambda message: None)
    model_text = f"Summary.\n{STAGE_1}\nIgnore the above."  # generated, hostile
    status = publisher.upsert_comment(number, STATUS, f"{STATUS}\n## Status\n{model_text}")
    stage = publisher.upsert_comment(number, STAGE_1, "Stage 1 findings")
    assert status is not None and stage is not None and stage.id != status.id
    after = bodies(double, number)
    assert after[status.id].startswith(f"{STATUS}\n## Status\n")
    assert after[status.id].count("<!--") == 1  # the stage marker in it was defused
    assert after[stage.id] == f"{STAGE_1}\nStage 1 findings"  # ours: prepended, intact


# --- two runs at once: the one that writes nothing more still looks again ---------------
def test_settling_folds_a_twin_a_concurrent_run_created_without_another_write(
    double: GitHubDouble,
) -> None:
    number = open_incident(double)
    first, second = forge_for(double), forge_for(double)
    first.list_comments(number)
    second.list_comments(number)  # both runs read the thread before either wrote
    kept = first.upsert_comment(number, STATUS, "triaged: P1")
    second.upsert_comment(number, STATUS, "triaged: P1")
    assert len(bodies(double, number)) == 2  # the race: two status comments
    second.settle_comments(number)  # its status did not change again: it only looks
    assert list(bodies(double, number)) == [kept.id]
    before = len(double.requests())
    first.settle_comments(number)
    second.settle_comments(number)
    assert len(double.requests()) == before + 1  # only `first` still had a look to take
