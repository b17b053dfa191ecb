"""The GitHub forge, driven through real PyGithub against the HTTP double."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from incident_ops.errors import ForgeError
from incident_ops.forge.base import Label
from incident_ops.forge.dry_run import DryRunForge
from incident_ops.forge.github import GitHubForge
from tests.github_double.fixtures import BOT, OWNER, forge_for, started_double
from tests.github_double.openapi import OpenApiSubset
from tests.github_double.routes import outside_subset
from tests.github_double.server import Fault, GitHubDouble


@pytest.fixture
def double() -> Iterator[GitHubDouble]:
    with started_double() as running:
        yield running


@pytest.fixture
def forge(double: GitHubDouble) -> GitHubForge:
    return forge_for(double)


SPEC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "github"


def open_incident(double: GitHubDouble, author: str = "support-sam") -> int:
    return double.repo.open_issue(
        "Checkout 500s", "### Summary\nerrors", author, ["incident"]
    ).number


def writes(double: GitHubDouble) -> list[str]:
    return [f"{r.method} {r.path}" for r in double.log if r.is_write]


def test_reads_the_issue_and_its_comments(double: GitHubDouble, forge: GitHubForge) -> None:
    number = open_incident(double)
    double.repo.add_comment(number, "dev-dana", "seeing 502s too")
    double.repo.add_comment(number, "dependabot[bot]", "bump")
    issue = forge.get_issue(number)
    assert (issue.title, issue.author, issue.labels) == (
        "Checkout 500s",
        "support-sam",
        ["incident"],
    )
    assert issue.body.startswith("### Summary")
    comments = forge.list_comments(number)
    assert [(c.author, c.author_is_bot) for c in comments] == [
        ("dev-dana", False),
        ("dependabot[bot]", True),
    ]


def test_missing_labels_are_created_with_colour_and_description(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    wanted = [
        Label(name="bug", color="000000", description="ours"),
        Label(name="severity:P1", color="d93f0b", description="Severity P1"),
    ]
    forge.ensure_labels(wanted)
    forge.ensure_labels(wanted)
    p1 = double.repo.find_label("severity:P1")
    assert p1 is not None and (p1.color, p1.description) == ("d93f0b", "Severity P1")
    bug = double.repo.find_label("bug")
    assert bug is not None and bug.color == "d73a4a"  # the owner's styling is kept
    assert writes(double).count("POST /repos/Codertocat/Hello-World/labels") == 1
    assert len(double.requests("GET", r"/labels$")) == 1


def test_labels_are_added_and_removed(double: GitHubDouble, forge: GitHubForge) -> None:
    number = open_incident(double)
    forge.set_labels(number, ["severity:P2", "status:investigating"], [])
    human = double.repo.ensure_label("customer-reported").name
    double.repo.issues[number].labels.append(human)  # a person adds one meanwhile
    forge.set_labels(number, ["severity:P1"], ["severity:P2"])
    assert double.repo.issues[number].labels == [
        "incident",
        "status:investigating",
        "customer-reported",
        "severity:P1",
    ]


def test_assignees_are_added_to_those_already_there(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    number = open_incident(double)
    double.repo.issues[number].assignees = ["maintainer-mia"]
    forge.assign(number, ["dev-dana"])
    forge.assign(number, ["dev-dana"])
    assert double.repo.issues[number].assignees == ["maintainer-mia", "dev-dana"]
    assert len(double.requests("PATCH", r"/issues/\d+$")) == 1


def test_a_sticky_comment_is_edited_in_place_never_duplicated(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    number = open_incident(double)
    status = "<!-- incident-ops:status -->"
    first = forge.upsert_comment(number, status, f"{status}\nInvestigating")
    forge.upsert_comment(number, "<!-- incident-ops:stage:1 -->", "Stage 1 done")
    again = forge.upsert_comment(number, status, f"{status}\nMitigated")
    unchanged = forge.upsert_comment(number, status, f"{status}\nMitigated")
    # A later run (a new process) finds the comment by its marker too.
    later = forge_for(double).upsert_comment(number, status, f"{status}\nResolved")
    bodies = [c.body for c in double.repo.comments_on(number)]
    assert bodies == [f"{status}\nResolved", "<!-- incident-ops:stage:1 -->\nStage 1 done"]
    assert first.id == again.id == unchanged.id == later.id
    assert len(double.requests("PATCH", r"/issues/comments/")) == 2  # not for "unchanged"


STATUS = "<!-- incident-ops:status -->"


def test_two_runs_that_both_create_a_sticky_comment_end_with_one(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    number = open_incident(double)
    other = forge_for(double)
    forge.list_comments(number)
    other.list_comments(number)  # both read the thread before either wrote to it
    ours = forge.upsert_comment(number, STATUS, "ours: investigating")
    forge.upsert_comment(number, "<!-- incident-ops:stage:1 -->", "ours: stage 1")
    other.upsert_comment(number, STATUS, "theirs: investigating")
    other.upsert_comment(number, "<!-- incident-ops:stage:1 -->", "theirs: stage 1")
    assert len(double.repo.comments_on(number)) == 4  # the race: two of each
    forge.upsert_comment(number, STATUS, "ours: mitigated")  # looks again before editing
    other.upsert_comment(number, STATUS, "theirs: resolved")  # its own twin is gone
    bodies = {c.id: c.body for c in double.repo.comments_on(number)}
    assert len(bodies) == 2
    assert bodies[ours.id] == f"{STATUS}\ntheirs: resolved"  # the oldest, the last word
    assert [b for b in bodies.values() if "stage:1" in b] == [
        "<!-- incident-ops:stage:1 -->\ntheirs: stage 1"  # written after ours: the later word
    ]


def test_a_run_that_created_nothing_does_not_look_again(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    number = open_incident(double)
    forge.upsert_comment(number, STATUS, "investigating")
    later = forge_for(double)
    later.upsert_comment(number, STATUS, "mitigated")
    later.upsert_comment(number, STATUS, "resolved")
    assert len(double.requests("GET", rf"/issues/{number}/comments$")) == 2  # one per forge


def test_twins_left_by_an_earlier_run_are_folded_when_found(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    number = open_incident(double)
    first = double.repo.add_comment(number, "github-actions[bot]", f"{STATUS}\nold")
    double.repo.add_comment(number, "github-actions[bot]", f"{STATUS}\nnewer")
    kept = forge.upsert_comment(number, STATUS, "now")
    assert kept.id == first.id
    assert [c.body for c in double.repo.comments_on(number)] == [f"{STATUS}\nnow"]


def test_without_deleting_a_twin_becomes_a_note_without_the_marker() -> None:
    with started_double(subset_only=True) as double:  # DELETE is outside the subset
        number = open_incident(double)
        first = double.repo.add_comment(number, "github-actions[bot]", f"{STATUS}\nold")
        double.repo.add_comment(number, "github-actions[bot]", f"{STATUS}\nnewer")
        forge_for(double).upsert_comment(number, STATUS, "now")
        bodies = [c.body for c in double.repo.comments_on(number)]
    assert bodies[0] == f"{STATUS}\nnow" and double.repo.comments_on(number)[0].id == first.id
    assert STATUS not in bodies[1] and "two runs wrote at once" in bodies[1]


def test_a_marker_in_someone_elses_comment_is_never_taken_for_ours(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    number = open_incident(double)
    planted = double.repo.add_comment(number, "outsider-olly", f"{STATUS}\nall fixed, close it")
    ours = forge.upsert_comment(number, STATUS, "investigating")
    forge_for(double).upsert_comment(number, STATUS, "mitigated")
    comments = double.repo.comments_on(number)
    assert [c.id for c in comments] == [planted.id, ours.id]
    assert comments[0].body == f"{STATUS}\nall fixed, close it"  # neither edited nor folded
    assert comments[1].body == f"{STATUS}\nmitigated"


def test_the_double_deletes_a_comment_as_github_documents(double: GitHubDouble) -> None:
    number = open_incident(double)
    made = double.repo.add_comment(number, "dev-dana", "typo")
    url = f"{double.url}/repos/{double.repo.full_name}/issues/comments/{made.id}"
    headers = {"Authorization": "token ghs_double_workflow_token"}
    assert requests.delete(url, timeout=5).status_code == 401
    first = requests.delete(url, headers=headers, timeout=5)
    assert (first.status_code, first.content) == (204, b"")
    assert requests.delete(url, headers=headers, timeout=5).status_code == 404
    assert double.repo.comments_on(number) == []
    assert outside_subset("DELETE", f"/repos/{double.repo.full_name}/issues/comments/1")


def test_the_branch_is_made_from_the_default_branch_once(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    forge_for(double).ensure_branch("incident/7", "main")
    git = double.repo.git
    assert git.refs["refs/heads/incident/7"] == git.refs["refs/heads/main"]
    assert len(double.requests("POST", r"/git/refs$")) == 1


def test_one_commit_per_call_whatever_the_number_of_files(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    files = {f"incidents/x/{name}.md": f"# {name}\n" for name in ("triage", "mitigation", "obs")}
    sha = forge.commit_files("incident/7", files, "incident #7: stage 1")
    history = double.repo.git.history("incident/7")
    assert sha == history[0].sha
    assert [c.message for c in history] == ["incident #7: stage 1", "Initial commit"]
    on_branch = double.repo.git.files_on("incident/7")
    assert {p: on_branch[p] for p in files} == files
    assert on_branch["incident-ops.yml"]  # the base tree is kept
    assert len(double.requests("POST", r"/git/blobs$")) == 0  # contents go inline
    assert len(double.requests("POST", r"/git/commits$")) == 1


def test_an_unchanged_tree_makes_no_commit(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    files = {"incidents/x/incident.yaml": "id: x\n"}
    assert forge.commit_files("incident/7", files, "first") is not None
    head = double.repo.git.refs["refs/heads/incident/7"]
    assert forge.commit_files("incident/7", files, "again") is None
    assert forge_for(double).commit_files("incident/7", files, "other run") is None
    assert double.repo.git.refs["refs/heads/incident/7"] == head


def test_a_commit_lands_on_top_of_someone_elses(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    forge.commit_files("incident/7", {"incidents/x/a.md": "a"}, "ours 1")
    double.repo.commit_files("incident/7", {"incidents/x/human.md": "h"}, "a human", "dev-dana")
    forge.commit_files("incident/7", {"incidents/x/b.md": "b"}, "ours 2")
    history = [c.message for c in double.repo.git.history("incident/7")]
    assert history[:3] == ["ours 2", "a human", "ours 1"]
    files = double.repo.git.files_on("incident/7")
    assert {"incidents/x/a.md", "incidents/x/b.md", "incidents/x/human.md"} <= set(files)


def _someone_pushes_after_our_commits(double: GitHubDouble, branch: str, times: int) -> None:
    """Each of the forge's next `times` commits is followed, before its ref update, by a
    person's commit on `branch`: the update is then refused as not a fast forward."""
    git = double.repo.git
    put_commit = git.put_commit
    left = [times]

    def racing(tree: str, parents: list[str], message: str, *people: Any) -> str:
        sha = put_commit(tree, parents, message, *people)
        if people[0].name == BOT and left[0] > 0:
            left[0] -= 1
            double.repo.commit_files(branch, {f"human-{left[0]}.md": "h"}, "a person", "dev-dana")
        return sha

    git.put_commit = racing  # type: ignore[method-assign]


def test_a_refused_ref_update_is_rebuilt_on_the_new_head_up_to_three_times(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    _someone_pushes_after_our_commits(double, "incident/7", times=2)
    sha = forge.commit_files("incident/7", {"incidents/x/a.md": "a"}, "ours")
    history = [c.message for c in double.repo.git.history("incident/7")]
    assert sha == double.repo.git.refs["refs/heads/incident/7"]
    assert history[:3] == ["ours", "a person", "a person"]
    assert {"human-0.md", "human-1.md", "incidents/x/a.md"} <= set(
        double.repo.git.files_on("incident/7")
    )
    refused = [r for r in double.requests("PATCH", r"/git/refs/") if r.status == 422]
    assert len(refused) == 2


def test_a_branch_that_keeps_moving_gives_a_clear_error(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    _someone_pushes_after_our_commits(double, "incident/7", times=3)
    with pytest.raises(ForgeError, match="incident/7 kept moving"):
        forge.commit_files("incident/7", {"incidents/x/a.md": "a"}, "ours")
    assert "ours" not in [c.message for c in double.repo.git.history("incident/7")]


def test_a_branch_another_run_created_meanwhile_is_adopted_not_overwritten(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    assert forge.list_files("incident/7", "incidents/") == []  # not there yet
    other = forge_for(double)
    other.ensure_branch("incident/7", "main")
    other.commit_files("incident/7", {"incidents/x/theirs.md": "t"}, "theirs")
    forge.ensure_branch("incident/7", "main")  # "Reference already exists": read it
    forge.commit_files("incident/7", {"incidents/x/ours.md": "o"}, "ours")
    history = [c.message for c in double.repo.git.history("incident/7")]
    assert history[:2] == ["ours", "theirs"]
    refused = [r for r in double.requests("POST", r"/git/refs$") if r.status == 422]
    assert len(refused) == 1


def test_reads_files_and_lists_folders(double: GitHubDouble, forge: GitHubForge) -> None:
    assert (
        forge.read_file("main", "incident-ops.yml")
        == double.repo.git.files_on("main")["incident-ops.yml"]
    )
    assert forge.read_file("main", "absent.md") is None
    assert forge.read_file("incident/404", "incident-ops.yml") is None
    assert forge.list_files("incident/404", "incidents/") == []
    double.repo.commit_files("incident/1", {"incidents/a/x.md": "x", "other.md": "o"}, "m", OWNER)
    assert forge.list_files("incident/1", "incidents/") == ["incidents/a/x.md"]
    assert forge.read_file("incident/1", "incidents/a/x.md") == "x"
    assert forge.read_file("incident/1", "incidents/a") is None  # a folder


def test_the_pull_request_is_opened_once_then_updated(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    forge.commit_files("incident/7", {"incidents/x/postmortem.md": "pm"}, "stage 5")
    assert forge.find_pull_request("incident/7") is None
    made = forge.upsert_pull_request("incident/7", "main", "Postmortem: #7", "v1", True)
    assert (made.head, made.base, made.draft) == ("incident/7", "main", True)
    updated = forge_for(double).upsert_pull_request(
        "incident/7", "main", "Postmortem: #7", "v2", True
    )
    assert updated.number == made.number and updated.body == "v2"
    assert len(double.repo.pulls) == 1
    assert double.repo.issues[made.number].body == "v2"
    found = forge_for(double).find_pull_request("incident/7")
    assert found is not None and found.number == made.number


def test_already_exists_from_a_concurrent_run_counts_as_success(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    forge.commit_files("incident/7", {"incidents/x/postmortem.md": "pm"}, "stage 5")
    assert forge.find_pull_request("incident/7") is None
    other = forge_for(double)  # another run opens the PR between lookup and create
    theirs = other.upsert_pull_request("incident/7", "main", "Postmortem", "theirs", True)
    ours = forge.upsert_pull_request("incident/7", "main", "Postmortem", "ours", True)
    assert ours.number == theirs.number
    assert len(double.repo.pulls) == 1
    assert double.repo.issues[ours.number].body == "ours"
    refused = [r for r in double.requests("POST", r"/pulls$") if r.status == 422]
    assert len(refused) == 1


def test_a_branch_this_run_created_needs_no_pull_request_lookup(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    forge.commit_files("incident/7", {"incidents/x/postmortem.md": "pm"}, "stage 5")
    assert forge.find_pull_request("incident/7") is None
    forge.upsert_pull_request("incident/7", "main", "Postmortem", "v1", True)
    assert double.requests("GET", r"/pulls$") == []
    assert len(double.repo.pulls) == 1


def test_two_runs_opening_the_pull_request_at_once_share_one(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_branch("incident/7", "main")
    forge.commit_files("incident/7", {"incidents/x/postmortem.md": "pm"}, "stage 5")
    other = forge_for(double)
    other.ensure_branch("incident/7", "main")  # found: this run looks the PR up
    assert other.find_pull_request("incident/7") is None
    assert forge.find_pull_request("incident/7") is None
    theirs = other.upsert_pull_request("incident/7", "main", "Postmortem", "theirs", True)
    ours = forge.upsert_pull_request("incident/7", "main", "Postmortem", "ours", True)
    again = other.upsert_pull_request("incident/7", "main", "Postmortem", "theirs 2", True)
    assert ours.number == theirs.number == again.number
    assert len(double.repo.pulls) == 1
    assert double.repo.issues[ours.number].body == "theirs 2"


def test_one_missing_label_is_created_without_listing_them_all(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    forge.ensure_labels([Label(name="severity:P1", color="d93f0b", description="P1")])
    forge.ensure_labels([Label(name="severity:P1", color="d93f0b", description="P1")])
    forge_for(double).ensure_labels([Label(name="bug", color="000000")])  # exists: 422
    assert double.requests("GET", r"/labels$") == []
    assert len(double.requests("POST", r"/labels$")) == 2
    bug = double.repo.find_label("bug")
    assert bug is not None and bug.color == "d73a4a"  # the owner's styling is kept


def test_permission_uses_the_fine_grained_role(forge: GitHubForge) -> None:
    assert forge.permission("maintainer-mia") == "maintain"  # legacy field says write
    assert forge.permission("support-sam") == "triage"  # legacy field says read
    assert forge.permission("outsider-olly") == "read"  # a public repository
    assert forge.permission("no-such-user") == "none"


def test_transient_failures_are_retried_for_every_method(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    number = open_incident(double)
    marker = "<!-- incident-ops:status -->"
    forge.upsert_comment(number, marker, "one")
    double.inject(Fault("status", method="PATCH", status=502))
    double.inject(Fault("secondary_rate_limit", method="POST", path=r"/git/trees$"))
    double.inject(Fault("drop", method="GET", path=r"/git/ref/"))
    forge.upsert_comment(number, marker, "two")  # PATCH after a 502
    forge.ensure_branch("incident/7", "main")  # GET after a dropped connection
    sha = forge.commit_files("incident/7", {"a.md": "a"}, "m")  # after a 403 limit
    assert double.repo.comments_on(number)[0].body == f"{marker}\ntwo"
    assert sha == double.repo.git.refs["refs/heads/incident/7"]
    faulted = [r.fault for r in double.log if r.fault]
    assert sorted(faulted) == ["drop", "secondary_rate_limit", "status"]


def test_a_lasting_outage_becomes_a_clear_forge_error(
    double: GitHubDouble,
) -> None:
    double.inject(Fault("status", path=r"/issues/1$", status=503, times=50))
    forge = forge_for(double)
    with pytest.raises(ForgeError, match=r"cannot read issue #1 in Codertocat/Hello-World"):
        forge.get_issue(1)


def test_a_bad_token_names_the_fix(double: GitHubDouble) -> None:
    forge = GitHubForge(
        double.repo.full_name, "wrong", base_url=double.url, seconds_between_writes=0
    )
    with pytest.raises(ForgeError, match=r"401 Bad credentials; check that GITHUB_TOKEN"):
        forge.default_branch()


def test_the_forge_sends_only_what_github_documents(
    double: GitHubDouble,
    forge: GitHubForge,
) -> None:
    path = SPEC / "openapi-subset.json"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    spec = OpenApiSubset(path)
    number = open_incident(double)
    f = forge
    f.get_issue(number)
    f.list_comments(number)
    f.permission("dev-dana")
    f.ensure_labels([Label(name="severity:P1", color="d93f0b", description="P1")])
    f.set_labels(number, ["severity:P1"], [])
    f.set_labels(number, [], ["severity:P1"])
    f.assign(number, ["dev-dana"])
    f.upsert_comment(number, "<!-- m -->", "a")
    f.upsert_comment(number, "<!-- m -->", "b")
    f.ensure_branch("incident/9", "main")
    f.commit_files("incident/9", {"incidents/x/a.md": "a"}, "m")
    f.read_file("incident/9", "incidents/x/a.md")
    f.list_files("incident/9", "incidents/")
    pr = f.upsert_pull_request("incident/9", "main", "t", "b1", True)
    f.upsert_pull_request("incident/9", "main", "t", "b2", True)
    f.get_pull_request(pr.number)
    opened = f.open_issue("AI-1", "do it", ["action-item"], ["dev-dana", "payments-team"])
    f.close_issue(opened.number)
    f.find_issues("action-item")  # outside the subset: skipped below
    f.request_reviewers(pr.number, ["payments-team", "maintainer-mia"])  # outside too
    problems = [
        f"{r.method} {r.path}: {error}"
        for r in double.log
        if not outside_subset(r.method, r.path)
        for error in spec.request_errors(r.method, r.path, r.body)
    ]
    assert problems == []


def test_a_dry_run_reads_but_writes_nothing(double: GitHubDouble) -> None:
    number = open_incident(double)
    out = io.StringIO()
    forge = DryRunForge(forge_for(double), out=out)
    forge.ensure_labels([Label(name="severity:P1", color="d93f0b")])
    forge.set_labels(number, ["severity:P1"], [])
    forge.upsert_comment(number, "<!-- m -->", "status text")
    forge.ensure_branch("incident/1", "main")
    assert forge.commit_files("incident/1", {"incidents/x/a.md": "hello"}, "stage 1")
    assert forge.read_file("incident/1", "incidents/x/a.md") == "hello"  # seen by later reads
    forge.upsert_pull_request("incident/1", "main", "Postmortem", "body", True)
    item = forge.open_issue("Add a canary", "details", ["action-item"], ["dev-dana"])
    assert item.number < 0  # made up, so it cannot be mistaken for a real issue
    assert [i.number for i in forge.find_issues("action-item")] == [item.number]
    forge.close_issue(number)
    forge.request_reviewers(1, ["payments-team"])
    assert writes(double) == []
    printed = out.getvalue()
    for expected in (
        "severity:P1",
        "status text",
        "incidents/x/a.md",
        "open a pull request",
        "would open an issue",
        "Add a canary",
        f"would close #{number}",
        "payments-team",
    ):
        assert expected in printed


# --- the live incident and its follow-through -------------------------------------------
def open_postmortem(forge: GitHubForge, issue: int = 7, draft: bool = True) -> int:
    forge.ensure_branch(f"incident/{issue}", "main")
    forge.commit_files(f"incident/{issue}", {"incidents/x/postmortem.md": "pm"}, "stage 5")
    return forge.upsert_pull_request(f"incident/{issue}", "main", "Postmortem", "b", draft).number


def test_issues_are_listed_by_label_open_and_closed_without_pull_requests(
    double: GitHubDouble, forge: GitHubForge
) -> None:
    repo = double.repo
    numbers = [
        repo.open_issue(f"item {i}", f"body {i}", OWNER, ["action-item"]).number for i in range(101)
    ]
    repo.issues[numbers[0]].state = "closed"
    repo.open_issue("a bug", "", OWNER, ["bug"])
    pull = open_postmortem(forge)
    repo.issues[pull].labels.append("action-item")  # pull requests are issues too
    double.clear_log()
    found = forge.find_issues("Action-Item")
    assert sorted(i.number for i in found) == numbers
    assert {i.state for i in found} == {"open", "closed"}
    assert next(i for i in found if i.number == numbers[5]).body == "body 5"
    assert len(double.log) == 2  # two pages of a hundred
    forge.get_issue(numbers[5])  # answered by the listing
    assert len(double.log) == 2
    forge.get_issue(numbers[5])  # read again: fresh from GitHub
    assert len(double.log) == 3


def test_without_the_listing_endpoint_no_issue_is_found_and_a_warning_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with started_double(subset_only=True) as double:
        double.repo.open_issue("item", "", OWNER, ["action-item"])
        assert forge_for(double).find_issues("action-item") == []
    assert "listing issues is unavailable" in caplog.text


def test_an_action_item_issue_carries_labels_and_its_owner(
    double: GitHubDouble, forge: GitHubForge
) -> None:
    issue = forge.open_issue(
        "Add a canary", "Owner: dev-dana", ["action-item", "type:prevent"], ["dev-dana"]
    )
    stored = double.repo.issues[issue.number]
    assert (stored.title, stored.labels, stored.assignees) == (
        "Add a canary",
        ["action-item", "type:prevent"],
        ["dev-dana"],
    )
    assert issue.labels == ["action-item", "type:prevent"] and issue.state == "open"
    assert len(double.requests("POST", r"/issues$")) == 1


def test_an_owner_who_cannot_be_assigned_is_dropped_not_the_issue(
    double: GitHubDouble, forge: GitHubForge, caplog: pytest.LogCaptureFixture
) -> None:
    issue = forge.open_issue("Add a canary", "x", ["action-item"], ["payments-team", "dev-dana"])
    assert double.repo.issues[issue.number].assignees == ["dev-dana"]
    only_team = forge.open_issue("Add alerts", "x", ["action-item"], ["payments-team"])
    assert double.repo.issues[only_team.number].assignees == []
    assert [r.status for r in double.requests("POST", r"/issues$")] == [422, 201, 422, 201]
    assert "payments-team" in caplog.text


def test_closing_an_issue_answers_with_the_closed_issue(
    double: GitHubDouble, forge: GitHubForge
) -> None:
    number = open_incident(double)
    closed = forge.close_issue(number)
    assert closed.state == "closed" and closed.closed_at is not None
    assert double.repo.issues[number].state == "closed"
    assert len(double.log) == 1


def test_a_merged_pull_request_reads_as_merged(double: GitHubDouble, forge: GitHubForge) -> None:
    number = open_postmortem(forge)
    assert forge.get_pull_request(number).merged is False
    double.repo.merge_pull(number, "maintainer-mia")
    merged = forge.get_pull_request(number)
    assert (merged.merged, merged.state, merged.head, merged.base) == (
        True,
        "closed",
        "incident/7",
        "main",
    )
    assert double.repo.git.files_on("main")["incidents/x/postmortem.md"] == "pm"


def test_people_and_teams_are_asked_to_review_in_one_request(
    double: GitHubDouble, forge: GitHubForge
) -> None:
    number = open_postmortem(forge)
    double.clear_log()
    forge.request_reviewers(
        number, ["payments-team", "@maintainer-mia", "Codertocat/payments-team"]
    )
    pull = double.repo.pulls[number]
    assert (pull.requested_reviewers, pull.requested_teams) == (
        ["maintainer-mia"],
        ["payments-team"],
    )
    assert len(double.requests("POST", r"/requested_reviewers$")) == 1


def test_names_that_cannot_review_are_skipped_and_the_rest_asked(
    double: GitHubDouble, forge: GitHubForge
) -> None:
    number = open_postmortem(forge)
    forge.request_reviewers(number, ["payments-team", "no-such-team", "outsider-olly", "dev-dana"])
    pull = double.repo.pulls[number]
    assert (pull.requested_reviewers, pull.requested_teams) == (["dev-dana"], ["payments-team"])
    forge.request_reviewers(number, ["no-such-team"])  # refused alone: still no failure
    forge.request_reviewers(number, [])
    assert pull.requested_teams == ["payments-team"]


def test_a_draft_is_marked_ready_and_back_through_graphql(
    double: GitHubDouble, forge: GitHubForge
) -> None:
    number = open_postmortem(forge)
    ready = forge_for(double).upsert_pull_request("incident/7", "main", "Postmortem", "b", False)
    assert ready.draft is False and double.repo.pulls[number].draft is False
    assert [r.path for r in double.requests("POST", r"graphql")] == ["/graphql"]
    again = forge_for(double).upsert_pull_request("incident/7", "main", "Postmortem", "b2", True)
    assert again.draft is True and double.repo.pulls[number].draft is True
    double.repo.merge_pull(number, OWNER)
    double.clear_log()
    late = forge_for(double).upsert_pull_request("incident/7", "main", "Postmortem", "b2", False)
    assert late.draft is True and double.requests("POST", r"graphql") == []  # merged: left be


def test_without_graphql_the_pull_request_stays_a_draft_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with started_double(subset_only=True) as double:
        forge = forge_for(double)
        number = open_postmortem(forge)
        updated = forge.upsert_pull_request("incident/7", "main", "Postmortem", "v2", False)
        assert updated.body == "v2" and updated.draft is True
        assert double.repo.pulls[number].draft is True
        forge.request_reviewers(number, ["dev-dana"])  # no endpoint either: no failure
    assert "could not mark ready for review" in caplog.text
