"""The local forge against real git repositories in temporary directories."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from incident_ops.errors import ForgeError
from incident_ops.forge import local
from incident_ops.forge.base import Forge, Label
from incident_ops.forge.local import LocalForge

START = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
MARKER = "<!-- incident-ops:status -->"


class SteppingClock:
    """A simulated clock: each reading is one minute after the previous one."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start - timedelta(minutes=1)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


def commit_count(repo: Path, branch: str) -> int:
    return int(git(repo, "rev-list", "--count", branch))


@pytest.fixture
def forge(tmp_path: Path) -> LocalForge:
    return LocalForge.init(
        tmp_path / "repo",
        files={"incident-ops.yml": "services: {}\n", "README.md": "# shop\n"},
        clock=SteppingClock(),
    )


@pytest.fixture
def incident(forge: LocalForge) -> Iterator[int]:
    issue = forge.create_issue("Checkout 5xx", "Checkout fails.\n", "alice", ["incident"])
    forge.ensure_branch("incident/1", "main")
    yield issue.number


# --- the repository ------------------------------------------------------------------


def test_init_checks_out_the_initial_files_on_the_default_branch(forge: LocalForge) -> None:
    assert forge.default_branch() == "main"
    assert (forge.path / "incident-ops.yml").read_text() == "services: {}\n"
    assert forge.read_file("main", "README.md") == "# shop\n"
    assert git(forge.path, "status", "--porcelain") == ""
    assert forge.repo_url() == forge.path.as_uri()
    conforming: Forge = forge  # the protocol, checked by mypy
    assert conforming.name == "local"


def test_a_directory_that_is_not_a_repository_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ForgeError, match="not a git repository"):
        LocalForge(tmp_path)
    with pytest.raises(ForgeError, match="already holds"):
        LocalForge.init(tmp_path / "twice")
        LocalForge.init(tmp_path / "twice")


# --- commits -------------------------------------------------------------------------


def test_a_commit_of_several_files_is_one_commit_and_leaves_the_checkout_alone(
    forge: LocalForge, incident: int
) -> None:
    repo = forge.path
    (repo / "notes.txt").write_text("untracked work in progress\n")
    (repo / "README.md").write_text("# shop, edited locally\n")
    git(repo, "add", "README.md")
    status_before = git(repo, "status", "--porcelain")
    index_before = (repo / ".git" / "index").read_bytes()

    files = {f"incidents/2026-03-02-1-x/{name}.md": f"# {name}\n" for name in "abc"}
    files["incidents/2026-03-02-1-x/incident.yaml"] = "title: x\n"
    sha = forge.commit_files("incident/1", files, "incident-ops: stage 1 findings")

    assert sha == git(repo, "rev-parse", "incident/1")
    assert commit_count(repo, "incident/1") == 2
    changed = git(repo, "show", "--name-only", "--format=", sha).splitlines()
    assert sorted(changed) == sorted(files)
    # The simulated clock read 14:05 for the initial commit and 14:06 for the issue.
    assert git(repo, "log", "-1", "--format=%an|%aI|%cI|%s", sha).split("|") == [
        "incident-ops[bot]", "2026-03-02T14:07:00+00:00", "2026-03-02T14:07:00+00:00",
        "incident-ops: stage 1 findings",
    ]  # fmt: skip
    assert git(repo, "status", "--porcelain") == status_before
    assert (repo / ".git" / "index").read_bytes() == index_before
    assert not (repo / "incidents").exists()
    assert forge.read_file("main", "incidents/2026-03-02-1-x/a.md") is None


def test_an_identical_commit_is_not_made_and_a_later_one_keeps_earlier_files(
    forge: LocalForge, incident: int
) -> None:
    files = {"incidents/x/a.md": "one\n", "incidents/x/b.md": "two\n"}
    first = forge.commit_files("incident/1", files, "first")
    assert forge.commit_files("incident/1", files, "again") is None
    assert git(forge.path, "rev-parse", "incident/1") == first

    second = forge.commit_files("incident/1", {"incidents/x/b.md": "two, revised\n"}, "second")
    assert second is not None and second != first
    assert git(forge.path, "rev-parse", f"{second}^") == first
    assert forge.read_file("incident/1", "incidents/x/a.md") == "one\n"
    assert forge.read_file("incident/1", "incidents/x/b.md") == "two, revised\n"
    assert forge.commit_files("incident/1", {}, "nothing") is None


def test_a_fifteen_file_commit_runs_a_handful_of_git_processes(
    forge: LocalForge, incident: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_run = local._Git.run

    def counting_run(self: local._Git, *args: str, **kwargs: Any) -> Any:
        calls.append(args[0])
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(local._Git, "run", counting_run)
    files = {f"incidents/x/phase-{n}.md": f"# phase {n}\n" for n in range(15)}
    assert forge.commit_files("incident/1", files, "stage") is not None
    assert len(calls) <= 8, calls
    assert len(forge.list_files("incident/1", "incidents/x")) == 15


def commit_by_hand(repo: Path, branch: str, path: str, content: str) -> str:
    """A commit on `branch` made by plain git, as a person or another tool would."""
    index = repo / ".git" / "hand-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    env |= {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "someone"), ("EMAIL", "someone@example.com"))}  # fmt: skip
    git(repo, "read-tree", branch, env=env)
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo, input=content, text=True,
        capture_output=True, check=True,
    ).stdout.strip()  # fmt: skip
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = git(repo, "write-tree", env=env)
    commit = git(repo, "commit-tree", tree, "-p", branch, "-m", "by hand", env=env)
    git(repo, "update-ref", f"refs/heads/{branch}", commit)
    index.unlink()
    return commit


def test_a_branch_moved_by_someone_else_mid_commit_keeps_both_changes(
    forge: LocalForge, incident: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_update = local._Git.update_ref
    moved: list[str] = []

    def racing_update(self: local._Git, ref: str, new: str, old: str | None, why: str) -> bool:
        if not moved:  # someone lands a commit just before our compare-and-swap
            moved.append(commit_by_hand(forge.path, "incident/1", "theirs.md", "t\n"))
        return real_update(self, ref, new, old, why)

    monkeypatch.setattr(local._Git, "update_ref", racing_update)
    ours = forge.commit_files("incident/1", {"ours.md": "o\n"}, "ours")
    assert ours is not None
    assert git(forge.path, "rev-parse", f"{ours}^") == moved[0]
    assert forge.list_files("incident/1", "") == [
        "README.md", "incident-ops.yml", "ours.md", "theirs.md"
    ]  # fmt: skip


def test_replays_on_the_same_clock_make_the_same_commits(tmp_path: Path) -> None:
    shas = []
    for name in ("first", "second"):
        replay = LocalForge.init(tmp_path / name, files={"a.md": "a\n"}, clock=SteppingClock())
        replay.ensure_branch("incident/1", "main")
        shas.append(replay.commit_files("incident/1", {"b.md": "b\n"}, "findings"))
    assert shas[0] is not None and shas[0] == shas[1]


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../outside.md", "incidents/../../x", ".git/hooks/post-commit",
     "a//b", "incidents/", ".incident-ops/issues/1.yaml", "a\\b", "a\nb"],
)  # fmt: skip
def test_paths_that_could_leave_the_repository_are_refused(
    forge: LocalForge, incident: int, path: str
) -> None:
    before = git(forge.path, "rev-parse", "incident/1")
    with pytest.raises(ForgeError, match="refusing"):
        forge.commit_files("incident/1", {"ok.md": "fine\n", path: "evil\n"}, "x")
    assert git(forge.path, "rev-parse", "incident/1") == before


def test_committing_to_a_missing_branch_fails(forge: LocalForge) -> None:
    with pytest.raises(ForgeError, match="does not exist"):
        forge.commit_files("incident/9", {"a.md": "a\n"}, "x")


# --- branches and reading -------------------------------------------------------------


def test_ensure_branch_creates_once_from_base(forge: LocalForge, incident: int) -> None:
    sha = forge.commit_files("incident/1", {"a.md": "a\n"}, "a")
    forge.ensure_branch("incident/1", "main")
    assert git(forge.path, "rev-parse", "incident/1") == sha
    with pytest.raises(ForgeError):
        forge.ensure_branch("incident/2", "no-such-base")
    with pytest.raises(ForgeError, match="not a valid branch"):
        forge.ensure_branch("bad..name", "main")


def test_reading_absent_files_and_branches_gives_none_and_empty(forge: LocalForge) -> None:
    assert forge.read_file("main", "missing.md") is None
    assert forge.read_file("no-branch", "README.md") is None
    assert forge.read_file("main", "README.md/inner") is None
    assert forge.list_files("no-branch", "") == []


def test_list_files_returns_everything_under_a_folder(forge: LocalForge, incident: int) -> None:
    forge.commit_files(
        "incident/1",
        {"incidents/a/x.md": "", "incidents/a/data/y.json": "{}", "incidents/ab/z.md": ""},
        "files",
    )
    assert forge.list_files("incident/1", "incidents/a/") == [
        "incidents/a/data/y.json", "incidents/a/x.md"
    ]  # fmt: skip
    assert len(forge.list_files("incident/1", "incidents")) == 3


# --- issues and comments ----------------------------------------------------------------


def test_issues_and_pull_requests_share_one_counter(forge: LocalForge, incident: int) -> None:
    forge.commit_files("incident/1", {"a.md": "a\n"}, "a")
    pull = forge.upsert_pull_request("incident/1", "main", "Postmortem", "body", draft=False)
    later = forge.create_issue("Follow-up", "", "bob")
    assert (incident, pull.number, later.number) == (1, 2, 3)
    assert [i.number for i in forge.list_issues()] == [1, 3]
    assert forge.get_issue(2).title == "Postmortem"  # a PR is also an issue, like GitHub


def test_issue_fields_round_trip_with_awkward_text(forge: LocalForge) -> None:
    body = "line one\r\nline\u2028two\x85 trailing  \n\n  indented\n# not a comment: yes\n"
    issue = forge.create_issue("Title: with colon", body, "alice", ["incident", "incident"])
    again = forge.get_issue(issue.number)
    assert again.body == body and again.title == "Title: with colon"
    assert again.labels == ["incident"]
    assert again.created_at == START + timedelta(minutes=1)  # the init commit read 14:05
    assert forge.create_issue("x", "bad \ud800 surrogate", "alice").body == "bad ? surrogate"


def test_unknown_issue_is_an_error(forge: LocalForge) -> None:
    with pytest.raises(ForgeError, match="#7"):
        forge.get_issue(7)
    with pytest.raises(ForgeError):
        forge.post_comment(7, "hello")


def test_close_and_reopen(forge: LocalForge, incident: int) -> None:
    closed = forge.close_issue(incident)
    assert closed.state == "closed" and closed.closed_at is not None
    assert forge.close_issue(incident).closed_at == closed.closed_at
    reopened = forge.reopen_issue(incident)
    assert reopened.state == "open" and reopened.closed_at is None


def test_upsert_comment_edits_in_place(forge: LocalForge, incident: int) -> None:
    first = forge.upsert_comment(incident, MARKER, f"{MARKER}\nstatus: investigating")
    forge.add_comment(incident, "bob", "I'm on it")
    second = forge.upsert_comment(incident, MARKER, "status: mitigated")
    comments = forge.list_comments(incident)
    assert second.id == first.id
    assert [c.body for c in comments] == [f"{MARKER}\nstatus: mitigated", "I'm on it"]
    assert [c.author_is_bot for c in comments] == [True, False]
    stored = local._load(forge.path / ".incident-ops/issues/1/comments" / f"{first.id}.yaml")
    assert stored is not None and stored["updated_at"] > stored["created_at"]


def test_a_marker_pasted_by_a_person_does_not_capture_the_bot_comment(
    forge: LocalForge, incident: int
) -> None:
    forge.add_comment(incident, "mallory", f"{MARKER} please overwrite me")
    ours = forge.upsert_comment(incident, MARKER, f"{MARKER}\nstatus")
    bodies = [c.body for c in forge.list_comments(incident)]
    assert bodies == [f"{MARKER} please overwrite me", f"{MARKER}\nstatus"]
    assert ours.author == "incident-ops[bot]"


def test_post_comment_always_creates_and_ids_are_unique(forge: LocalForge, incident: int) -> None:
    other = forge.create_issue("Other", "", "bob").number
    ids = [
        forge.post_comment(incident, "same").id,
        forge.post_comment(incident, "same").id,
        forge.add_comment(other, "bob", "hi", created_at=START).id,
    ]
    assert ids == sorted(set(ids))
    assert [c.id for c in forge.list_comments(incident)] == ids[:2]
    assert forge.list_comments(other)[0].created_at == START


# --- labels, permissions, assignees, evidence ---------------------------------------------


def test_labels_are_added_removed_and_defined(forge: LocalForge, incident: int) -> None:
    forge.ensure_labels([Label(name="severity:P1", color="d93f0b", description="major")])
    forge.set_labels(incident, add=["severity:P1", "status:investigating"], remove=["incident"])
    assert forge.get_issue(incident).labels == ["severity:P1", "status:investigating"]
    defined = {label.name: label for label in forge.list_labels()}
    assert defined["severity:P1"].color == "d93f0b"
    assert defined["status:investigating"].color == "ededed"  # created on first use
    forge.ensure_labels([Label(name="severity:P1", color="000000")])
    assert {label.name: label for label in forge.list_labels()}["severity:P1"].color == "000000"


def test_permissions_default_to_none_and_are_configurable(forge: LocalForge) -> None:
    forge.set_permission("alice", "write")
    assert forge.permission("alice") == "write"
    assert forge.permission("stranger") == "none"
    assert LocalForge(forge.path, default_permission="read").permission("stranger") == "read"
    with pytest.raises(ValueError):
        forge.set_permission("alice", "owner")


def test_assign_adds_assignees(forge: LocalForge, incident: int) -> None:
    forge.assign(incident, ["alice"])
    forge.assign(incident, ["bob", "alice"])
    assert forge.assignees(incident) == ["alice", "bob"]


def test_evidence_round_trip(forge: LocalForge, incident: int) -> None:
    assert forge.evidence_files(incident) == []
    binary = bytes(range(256))
    forge.add_evidence(incident, "checkout-api.log", b"ERROR upstream timeout\n")
    forge.add_evidence(incident, "traces/slow.otlp.json", binary)
    found = {f.name: f.content for f in forge.evidence_files(incident)}
    assert found == {
        "checkout-api.log": b"ERROR upstream timeout\n",
        "traces/slow.otlp.json": binary,
    }
    with pytest.raises(ForgeError, match="refusing"):
        forge.add_evidence(incident, "../../escape.txt", b"x")
    assert not (forge.path / ".incident-ops" / "escape.txt").exists()


def test_forge_state_never_shows_up_in_git(forge: LocalForge, incident: int) -> None:
    forge.post_comment(incident, "hello")
    forge.add_evidence(incident, "a.log", b"x")
    assert (forge.path / ".incident-ops" / "issues" / "1.yaml").is_file()
    assert git(forge.path, "status", "--porcelain", "--untracked-files=all") == ""


# --- pull requests ------------------------------------------------------------------------


def test_pull_request_is_created_once_then_updated(forge: LocalForge, incident: int) -> None:
    forge.commit_files("incident/1", {"postmortem.md": "# PM\n"}, "pm")
    assert forge.find_pull_request("incident/1") is None
    first = forge.upsert_pull_request("incident/1", "main", "Draft PM", "v1", draft=True)
    second = forge.upsert_pull_request("incident/1", "main", "Postmortem", "v2", draft=False)
    assert second.number == first.number
    assert (second.title, second.body, second.draft) == ("Postmortem", "v2", False)
    assert forge.find_pull_request("incident/1") == second
    assert forge.list_pull_requests() == [second]


def test_a_pull_request_needs_both_branches(forge: LocalForge) -> None:
    with pytest.raises(ForgeError, match="cannot open"):
        forge.upsert_pull_request("incident/404", "main", "t", "b", draft=False)
    assert forge.list_pull_requests() == []


def test_merge_pull_request_merges_head_into_base(forge: LocalForge, incident: int) -> None:
    forge.commit_files("incident/1", {"incidents/x/postmortem.md": "# PM\n"}, "pm")
    forge.commit_files("main", {"CHANGELOG.md": "main moved on\n"}, "meanwhile")
    pull = forge.upsert_pull_request("incident/1", "main", "Postmortem", "body", draft=False)

    merged = forge.merge_pull_request(pull.number)

    assert merged.merged and merged.state == "closed"
    parents = git(forge.path, "log", "-1", "--format=%P", "main").split()
    assert parents[1] == git(forge.path, "rev-parse", "incident/1")
    assert forge.read_file("main", "incidents/x/postmortem.md") == "# PM\n"
    assert forge.read_file("main", "CHANGELOG.md") == "main moved on\n"
    assert (forge.path / "incidents/x/postmortem.md").read_text() == "# PM\n"
    head = git(forge.path, "rev-parse", "main")
    assert forge.merge_pull_request(pull.number) == merged
    assert git(forge.path, "rev-parse", "main") == head


def test_a_conflicting_merge_is_refused_and_changes_nothing(
    forge: LocalForge, incident: int
) -> None:
    forge.commit_files("incident/1", {"README.md": "# incident version\n"}, "theirs")
    forge.commit_files("main", {"README.md": "# main version\n"}, "ours")
    pull = forge.upsert_pull_request("incident/1", "main", "t", "b", draft=False)
    main_before = git(forge.path, "rev-parse", "main")
    with pytest.raises(ForgeError, match=r"README\.md"):
        forge.merge_pull_request(pull.number)
    assert git(forge.path, "rev-parse", "main") == main_before
    assert forge.get_pull_request(pull.number).state == "open"


# --- two processes at once -------------------------------------------------------------------


def _respond_concurrently(repo: str, worker: int, barrier: Any) -> None:
    forge = LocalForge(Path(repo))
    barrier.wait()
    for round_ in range(4):
        forge.upsert_comment(1, MARKER, f"{MARKER}\nworker {worker} round {round_}")
        forge.upsert_pull_request("incident/1", "main", f"PM {worker}", "body", draft=True)
        forge.add_comment(1, f"user{worker}", f"note {round_}")


def test_concurrent_runs_leave_one_status_comment_and_one_pull_request(
    forge: LocalForge, incident: int
) -> None:
    forge.commit_files("incident/1", {"a.md": "a\n"}, "a")
    context = multiprocessing.get_context("fork")  # fcntl locks: POSIX only anyway
    workers = 4
    barrier = context.Barrier(workers)
    processes = [
        context.Process(target=_respond_concurrently, args=(str(forge.path), n, barrier))
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * workers

    comments = forge.list_comments(1)
    assert len([c for c in comments if MARKER in c.body]) == 1
    assert len([c for c in comments if not c.author_is_bot]) == workers * 4
    assert len({c.id for c in comments}) == len(comments)
    assert len(forge.list_pull_requests()) == 1


# --- environment ------------------------------------------------------------------------------


def test_works_without_a_global_git_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith("GIT_") or name in ("EMAIL", "XDG_CONFIG_HOME"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    forge = LocalForge.init(tmp_path / "repo", files={"README.md": "hi\n"})
    forge.create_issue("x", "", "alice")
    forge.ensure_branch("incident/1", "main")
    forge.commit_files("incident/1", {"a.md": "a\n"}, "a")
    pull = forge.upsert_pull_request("incident/1", "main", "t", "b", draft=False)
    assert forge.merge_pull_request(pull.number).merged
    # A person working in the demo repository can commit too (identity set locally).
    git(forge.path, "commit", "--allow-empty", "-q", "-m", "by hand", env=dict(os.environ))
    assert commit_count(forge.path, "main") == 4


def test_git_variables_from_a_hook_do_not_redirect_the_forge(
    forge: LocalForge, incident: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "other-index"))
    assert forge.commit_files("incident/1", {"a.md": "a\n"}, "a") is not None
    assert not (tmp_path / "other-index").exists()
