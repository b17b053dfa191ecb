"""The GitHub double answers like GitHub: documented shapes, status codes, error bodies,
pagination, rate-limit headers, a faithful git object model and switchable faults."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.github_double.fixtures import BOT, OWNER, REPO, TOKEN, started_double
from tests.github_double.gitstore import GitStore
from tests.github_double.openapi import OpenApiSubset
from tests.github_double.server import Fault, GitHubDouble
from tests.github_double.state import Repository

SPEC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "github"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}


@pytest.fixture
def double() -> Iterator[GitHubDouble]:
    with started_double() as running:
        yield running


@pytest.fixture(scope="module")
def spec() -> OpenApiSubset:
    path = SPEC / "openapi-subset.json"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return OpenApiSubset(path)


class Client:
    """Raw HTTP against the double, the way any GitHub client would speak to it."""

    def __init__(self, double: GitHubDouble) -> None:
        self.root = f"{double.url}/repos/{OWNER}/{REPO}"
        self.session = requests.Session()
        self.session.headers.update(HEADERS)

    def call(self, method: str, path: str, body: Any = None, **params: str) -> requests.Response:
        return self.session.request(method, self.root + path, json=body, params=params, timeout=5)


def exercise_every_endpoint(double: GitHubDouble) -> None:
    """A walk through all the endpoints the forge uses, successes and refusals alike."""
    c = Client(double)
    assert c.call("GET", "").status_code == 200
    issue = c.call("POST", "/issues", {"title": "Checkout down", "body": "### Summary\nx"}).json()
    n = issue["number"]
    c.call("POST", "/issues", {"title": "AI-1", "assignees": ["payments-team"]})  # 422
    c.call("PATCH", f"/issues/{n}", {"state": "closed", "state_reason": "completed"})
    c.call("PATCH", f"/issues/{n}", {"state": "open"})
    c.call("GET", f"/issues/{n}")
    c.call("GET", "/issues/999")  # 404
    c.call("PATCH", f"/issues/{n}", {"labels": ["incident"], "assignees": ["dev-dana"]})
    c.call("PATCH", f"/issues/{n}", {"body": "x" * 70_000})  # 422 too long
    comment = c.call("POST", f"/issues/{n}/comments", {"body": "<!-- m -->\nhi"}).json()
    c.call("POST", f"/issues/{n}/comments", {})  # 422 missing body
    c.call("PATCH", f"/issues/comments/{comment['id']}", {"body": "<!-- m -->\nedited"})
    c.call("GET", f"/issues/{n}/comments")
    c.call("POST", f"/issues/{n}/labels", {"labels": ["severity:P1"]})
    c.call("GET", "/labels")
    c.call("POST", "/labels", {"name": "status:investigating", "color": "0e8a16"})
    c.call("POST", "/labels", {"name": "bug", "color": "d73a4a"})  # 422 already_exists
    c.call("GET", "/collaborators/support-sam/permission")
    c.call("GET", "/collaborators/not-a-user/permission")  # 404
    main = c.call("GET", "/git/ref/heads/main").json()
    c.call("GET", "/git/ref/heads/nope")  # 404
    head = main["object"]["sha"]
    c.call("POST", "/git/refs", {"ref": "refs/heads/incident/1", "sha": head})
    c.call("POST", "/git/refs", {"ref": "refs/heads/incident/1", "sha": head})  # 422
    parent = c.call("GET", f"/git/commits/{head}").json()
    blob = c.call("POST", "/git/blobs", {"content": "hello", "encoding": "utf-8"}).json()
    tree = c.call(
        "POST",
        "/git/trees",
        {
            "base_tree": parent["tree"]["sha"],
            "tree": [
                {"path": "incidents/a/one.md", "mode": "100644", "type": "blob", "content": "1"},
                {
                    "path": "incidents/a/two.md",
                    "mode": "100644",
                    "type": "blob",
                    "sha": blob["sha"],
                },
            ],
        },
    ).json()
    commit = c.call(
        "POST", "/git/commits", {"message": "stage 1", "tree": tree["sha"], "parents": [head]}
    ).json()
    c.call("PATCH", "/git/refs/heads/incident/1", {"sha": commit["sha"]})
    c.call("PATCH", "/git/refs/heads/incident/1", {"sha": head})  # 422 not a fast forward
    c.call("GET", f"/git/trees/{tree['sha']}", recursive="1")
    c.call("GET", "/git/trees/incident/1")
    c.call("GET", "/contents/incidents/a/one.md", ref="incident/1")
    c.call("GET", "/contents/incidents/a", ref="incident/1")
    c.call("GET", "/contents/missing.md")  # 404
    encoded = base64.b64encode(b"notes\n").decode()
    c.call("PUT", "/contents/NOTES.md", {"message": "notes", "content": encoded})
    c.call("PUT", "/contents/NOTES.md", {"message": "again", "content": encoded})  # 422 no sha
    pr = c.call(
        "POST",
        "/pulls",
        {"title": "Postmortem", "head": "incident/1", "base": "main", "draft": True},
    ).json()
    c.call("POST", "/pulls", {"title": "again", "head": "incident/1", "base": "main"})  # 422
    c.call("GET", "/pulls", head=f"{OWNER}:incident/1", state="all")
    c.call("GET", f"/pulls/{pr['number']}")
    c.call("GET", "/pulls/999")  # 404
    c.call("POST", "/milestones", {"title": "Follow-ups", "due_on": "2030-01-01T00:00:00Z"})
    c.call("GET", "/milestones")


def test_every_response_matches_the_openapi_description(
    double: GitHubDouble,
    spec: OpenApiSubset,
) -> None:
    exercise_every_endpoint(double)
    statuses = {entry.status for entry, _ in double.responses}
    assert {200, 201, 404, 422} <= statuses  # successes and refusals were both checked
    problems = [
        f"{entry.method} {entry.path} -> {entry.status}: {error}"
        for entry, response in double.responses
        for error in spec.response_errors(entry.method, entry.path, response.status, response.body)
    ]
    assert problems == []


def test_errors_carry_githubs_message_and_validation_details(
    double: GitHubDouble,
) -> None:
    c = Client(double)
    missing = c.call("GET", "/issues/41")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"
    assert missing.json()["documentation_url"].startswith("https://docs.github.com")
    duplicate = c.call("POST", "/labels", {"name": "BUG"})  # names are case-insensitive
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"] == [
        {"resource": "Label", "code": "already_exists", "field": "name"}
    ]
    anonymous = requests.post(f"{c.root}/labels", json={"name": "x"}, timeout=5)
    assert anonymous.status_code == 401
    bad_token = requests.get(c.root, headers={"Authorization": "token nope"}, timeout=5)
    assert bad_token.status_code == 401
    assert bad_token.json()["message"] == "Bad credentials"


def test_an_empty_repository_answers_409_to_git_reads() -> None:
    repo = Repository(owner=OWNER, name=REPO)
    repo.add_token(TOKEN, BOT)
    double = GitHubDouble(repo).start()
    try:
        answer = Client(double).call("GET", "/git/ref/heads/main")
        assert answer.status_code == 409
        assert answer.json()["message"] == "Git Repository is empty."
    finally:
        double.stop()


def test_lists_are_paginated_with_link_headers(double: GitHubDouble) -> None:
    repo = double.repo
    issue = repo.open_issue("Busy incident", "", "dev-dana")
    for i in range(25):
        repo.add_comment(issue.number, "dev-dana", f"update {i}")
    c = Client(double)
    first = c.call("GET", f"/issues/{issue.number}/comments", per_page="10")
    assert len(first.json()) == 10
    assert 'rel="next"' in first.headers["Link"] and 'rel="last"' in first.headers["Link"]
    bodies = [item["body"] for item in first.json()]
    page = first
    while "next" in page.links:
        page = c.session.get(page.links["next"]["url"], timeout=5)
        bodies += [item["body"] for item in page.json()]
    assert bodies == [f"update {i}" for i in range(25)]
    assert "prev" in page.links and "next" not in page.links


def test_every_answer_carries_rate_limit_headers(double: GitHubDouble) -> None:
    c = Client(double)
    first, second = c.call("GET", ""), c.call("GET", "/labels")
    assert first.headers["X-RateLimit-Limit"] == "5000"
    assert int(second.headers["X-RateLimit-Remaining"]) == (
        int(first.headers["X-RateLimit-Remaining"]) - 1
    )
    assert int(second.headers["X-RateLimit-Reset"]) > 0


def test_a_head_filter_without_owner_matches_every_pull_request(
    double: GitHubDouble,
) -> None:
    repo = double.repo
    for n in (1, 2):
        repo.commit_files(f"incident/{n}", {f"f{n}.md": "x"}, "work", "dev-dana")
        # branch from main so there is something to compare
    c = Client(double)
    for n in (1, 2):
        made = c.call(
            "POST", "/pulls", {"title": f"pm {n}", "head": f"incident/{n}", "base": "main"}
        )
        assert made.status_code == 201, made.json()
    bare = c.call("GET", "/pulls", head="incident/1").json()
    qualified = c.call("GET", "/pulls", head=f"{OWNER}:incident/1").json()
    assert len(bare) == 2
    assert [p["head"]["ref"] for p in qualified] == ["incident/1"]


def test_git_objects_hash_like_git(tmp_path: Path) -> None:
    store = GitStore()
    blob = store.put_blob(b"hello\n")
    tree = store.build_tree(None, {"docs/a.md": ("100644", blob), "b.txt": ("100644", blob)})
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_bytes(b"hello\n")
    (tmp_path / "b.txt").write_bytes(b"hello\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    real_tree = subprocess.run(
        ["git", "-C", str(tmp_path), "write-tree"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert tree == real_tree
    # The same content gives the same tree: that is how an empty commit is recognised.
    assert store.build_tree(tree, {"b.txt": ("100644", blob)}) == tree


def test_a_secondary_rate_limit_fault_answers_403_with_retry_after(
    double: GitHubDouble,
) -> None:
    double.inject(Fault("secondary_rate_limit", method="POST", retry_after=7))
    c = Client(double)
    limited = c.call("POST", "/labels", {"name": "a"})
    assert limited.status_code == 403
    assert limited.headers["Retry-After"] == "7"
    assert "secondary rate limit" in limited.json()["message"]
    assert c.call("POST", "/labels", {"name": "a"}).status_code == 201  # only once
    assert double.repo.find_label("a") is not None


def test_server_error_and_dropped_connection_faults(double: GitHubDouble) -> None:
    double.inject(Fault("status", path=r"/labels$", status=503))
    double.inject(Fault("drop", path=r"/issues/1$"))
    c = Client(double)
    assert c.call("GET", "/labels").status_code == 503
    assert c.call("GET", "/labels").status_code == 200
    with pytest.raises(requests.ConnectionError):
        c.call("GET", "/issues/1")
    dropped = double.requests(path=r"/issues/1$")
    assert [r.status for r in dropped] == [None]


def test_urls_in_answers_lead_back_to_the_double(double: GitHubDouble) -> None:
    c = Client(double)
    ref = c.call("GET", "/git/ref/heads/main").json()
    followed = c.session.get(ref["object"]["url"], timeout=5)
    assert followed.status_code == 200
    assert followed.json()["sha"] == ref["object"]["sha"]


# --- beyond the validated subset (documented by GitHub, marked in routes.py) -------------
def test_issues_are_listed_by_labels_and_state_with_pull_requests_among_them(
    double: GitHubDouble,
) -> None:
    repo = double.repo
    first = repo.open_issue("one", "", OWNER, ["incident", "severity:P1"]).number
    second = repo.open_issue("two", "", OWNER, ["incident"]).number
    repo.open_issue("three", "", OWNER, ["bug"])
    repo.issues[second].state = "closed"
    c = Client(double)
    listed = c.call("GET", "/issues", labels="INCIDENT", state="all").json()
    assert [i["number"] for i in listed] == [second, first]  # newest first
    assert [i["number"] for i in c.call("GET", "/issues", labels="incident").json()] == [first]
    both = c.call("GET", "/issues", labels="incident,severity:P1", state="all").json()
    assert [i["number"] for i in both] == [first]
    page = c.call("GET", "/issues", state="all", per_page="2")
    assert len(page.json()) == 2 and 'rel="next"' in page.headers["Link"]
    repo.commit_files("incident/1", {"f.md": "x"}, "work", "dev-dana")
    c.call("POST", "/pulls", {"title": "pm", "head": "incident/1", "base": "main"})
    everything = c.call("GET", "/issues", state="all", per_page="100").json()
    assert sum("pull_request" in i for i in everything) == 1
    assert c.call("GET", "/issues", state="sideways").status_code == 422


def test_reviewers_must_be_collaborators_or_teams_with_access(double: GitHubDouble) -> None:
    repo = double.repo
    repo.commit_files("incident/1", {"f.md": "x"}, "work", "dev-dana")
    c = Client(double)
    pr = c.call("POST", "/pulls", {"title": "pm", "head": "incident/1", "base": "main"}).json()
    path = f"/pulls/{pr['number']}/requested_reviewers"
    asked = c.call("POST", path, {"reviewers": ["dev-dana"], "team_reviewers": ["payments-team"]})
    assert asked.status_code == 201
    assert [u["login"] for u in asked.json()["requested_reviewers"]] == ["dev-dana"]
    assert [t["slug"] for t in asked.json()["requested_teams"]] == ["payments-team"]
    for refused in (
        {"reviewers": ["outsider-olly"]},
        {"team_reviewers": ["no-such-team"]},
        {"reviewers": [BOT]},  # the pull request's author
    ):
        answer = c.call("POST", path, refused)
        assert answer.status_code == 422 and answer.json()["message"]
    assert repo.pulls[pr["number"]].requested_reviewers == ["dev-dana"]  # all or nothing


def test_graphql_marks_a_draft_ready_and_back(double: GitHubDouble) -> None:
    double.repo.commit_files("incident/1", {"f.md": "x"}, "work", "dev-dana")
    c = Client(double)
    pr = c.call(
        "POST", "/pulls", {"title": "pm", "head": "incident/1", "base": "main", "draft": True}
    ).json()
    graphql = f"{double.url}/graphql"

    def mutate(name: str, node: str) -> dict[str, Any]:
        kind = name[0].upper() + name[1:]
        query = f"mutation M($input: {kind}Input!) {{ {name}(input: $input) {{ "
        query += "pullRequest { isDraft } } }"
        body = {"query": query, "variables": {"input": {"pullRequestId": node}}}
        answer = c.session.post(graphql, json=body, timeout=5)
        assert answer.status_code == 200  # GraphQL reports problems in the body
        data: dict[str, Any] = answer.json()
        return data

    ready = mutate("markPullRequestReadyForReview", pr["node_id"])
    assert ready["data"]["markPullRequestReadyForReview"]["pullRequest"]["isDraft"] is False
    assert double.repo.pulls[pr["number"]].draft is False
    mutate("convertPullRequestToDraft", pr["node_id"])
    assert double.repo.pulls[pr["number"]].draft is True
    assert mutate("markPullRequestReadyForReview", "nope")["errors"][0]["type"] == "NOT_FOUND"
    assert mutate("mergePullRequest", pr["node_id"])["errors"]


def test_a_double_limited_to_the_subset_answers_404_beyond_it() -> None:
    with started_double(subset_only=True) as double:
        c = Client(double)
        assert c.call("GET", "/issues").status_code == 404
        assert c.call("POST", "/pulls/1/requested_reviewers", {"reviewers": []}).status_code == 404
        assert c.session.post(f"{double.url}/graphql", json={}, timeout=5).status_code == 404
        assert c.call("GET", "/issues/1").status_code == 404  # still answered, no such issue
        assert c.call("GET", "/labels").status_code == 200


def test_a_merge_joins_both_histories_and_closes_the_pull_request(double: GitHubDouble) -> None:
    repo = double.repo
    repo.git.refs["refs/heads/incident/1"] = repo.git.refs["refs/heads/main"]
    repo.commit_files("incident/1", {"incidents/a/incident.yaml": "id: a\n"}, "work", "dev-dana")
    repo.commit_files("main", {"NOTES.md": "meanwhile\n"}, "main moved on", OWNER)
    c = Client(double)
    pr = c.call("POST", "/pulls", {"title": "pm", "head": "incident/1", "base": "main"}).json()
    sha = repo.merge_pull(pr["number"], "maintainer-mia")
    merge = repo.git.commits[sha]
    assert len(merge.parents) == 2
    files = repo.git.files_on("main")
    assert files["incidents/a/incident.yaml"] == "id: a\n" and files["NOTES.md"] == "meanwhile\n"
    answer = c.call("GET", f"/pulls/{pr['number']}").json()
    assert (answer["merged"], answer["state"], answer["merge_commit_sha"]) == (True, "closed", sha)
