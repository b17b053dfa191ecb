"""A forge that reads for real and prints every write instead of making it.

`incident-ops respond ISSUE --repo owner/name --dry-run` wraps the GitHub forge in it, so
a responder can see exactly what a run would comment, label, commit and open, without
changing anything. Written files and comments are remembered, so later reads in the
same run see them and the run behaves as it would for real.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

from incident_ops.forge.base import Comment, EvidenceFile, Forge, Issue, Label, PullRequest
from incident_ops.markers import opens_with_marker, with_marker

DRY_RUN_ACTOR = "incident-ops (dry run)"


class DryRunForge:
    """Wraps `inner`: reads pass through, writes are printed to `out`."""

    def __init__(self, inner: Forge, out: TextIO | None = None) -> None:
        self.inner = inner
        self.name = f"{inner.name} (dry run)"
        self.out = out or sys.stdout
        self.writes = 0
        self._files: dict[str, dict[str, str]] = {}  # branch -> path -> text
        self._comments: dict[int, dict[str, Comment]] = {}  # issue -> marker -> comment
        self._pull: PullRequest | None = None
        self._opened: list[Issue] = []  # issues this dry run would have opened
        self._next_id = -1  # comment ids and issue numbers made up here are negative

    # --- reads pass through --------------------------------------------------------
    def repo_url(self) -> str:
        return self.inner.repo_url()

    def default_branch(self) -> str:
        return self.inner.default_branch()

    def get_issue(self, number: int) -> Issue:
        opened = next((issue for issue in self._opened if issue.number == number), None)
        return opened or self.inner.get_issue(number)

    def list_comments(self, number: int) -> list[Comment]:
        real = self.inner.list_comments(number)
        pending = self._comments.get(number, {})
        replaced = {c.id for c in pending.values()}
        return [c for c in real if c.id not in replaced] + list(pending.values())

    def permission(self, login: str) -> str:
        return self.inner.permission(login)

    def read_file(self, branch: str, path: str) -> str | None:
        written = self._files.get(branch, {})
        return written[path] if path in written else self.inner.read_file(branch, path)

    def list_files(self, branch: str, prefix: str) -> list[str]:
        folder = prefix.strip("/")
        written = [
            p
            for p in self._files.get(branch, {})
            if not folder or p == folder or p.startswith(f"{folder}/")
        ]
        return sorted(set(self.inner.list_files(branch, prefix)) | set(written))

    def evidence_files(self, issue: int) -> list[EvidenceFile]:
        return self.inner.evidence_files(issue)

    def find_pull_request(self, head: str) -> PullRequest | None:
        if self._pull is not None and self._pull.head == head:
            return self._pull
        return self.inner.find_pull_request(head)

    def get_pull_request(self, number: int) -> PullRequest:
        if self._pull is not None and self._pull.number == number:
            return self._pull
        return self.inner.get_pull_request(number)

    def open_pull_requests(self) -> list[PullRequest]:
        return self.inner.open_pull_requests()

    def find_issues(self, label: str) -> list[Issue]:
        mine = [issue for issue in self._opened if label in issue.labels]
        return self.inner.find_issues(label) + mine

    # --- writes are printed --------------------------------------------------------
    def ensure_labels(self, labels: list[Label]) -> None:
        names = ", ".join(f"{label.name} (#{label.color})" for label in labels)
        self._say(f"would create these labels where missing: {names}")

    def set_labels(self, number: int, add: list[str], remove: list[str]) -> None:
        self._say(f"would label #{number}: add {add or 'nothing'}, remove {remove or 'nothing'}")

    def assign(self, number: int, logins: list[str]) -> None:
        self._say(f"would assign #{number} to {', '.join(logins)}")

    def settle_comments(self, number: int) -> None:
        """A dry run writes nothing, so it has nothing to settle."""

    def upsert_comment(self, number: int, marker: str, body: str) -> Comment:
        # The comment the real forge would edit: one whose body opens with the marker (a
        # marker quoted further into a comment is not ours to edit).
        body = with_marker(body, marker)
        existing = next(
            (c for c in self.inner.list_comments(number) if opens_with_marker(c.body, marker)),
            None,
        ) or self._comments.get(number, {}).get(marker)
        verb = f"edit comment {existing.id}" if existing else "post a comment"
        self._say(f"would {verb} on #{number} ({marker}):", body)
        comment = self._comment(body, existing.id if existing else None)
        self._comments.setdefault(number, {})[marker] = comment
        return comment

    def post_comment(self, number: int, body: str) -> Comment:
        self._say(f"would post a comment on #{number}:", body)
        return self._comment(body, None)

    def ensure_branch(self, branch: str, base: str) -> None:
        self._say(f"would create the branch {branch} from {base} if it is missing")

    def commit_files(self, branch: str, files: dict[str, str], message: str) -> str | None:
        changed = {p: t for p, t in files.items() if self.read_file(branch, p) != t}
        if not changed:
            return None
        listing = "\n".join(
            f"  {path} ({len(text)} characters)" for path, text in sorted(changed.items())
        )
        self._say(f"would commit to {branch}: {message}", listing)
        self._files.setdefault(branch, {}).update(changed)
        return f"dry-run-{self.writes}"

    def upsert_pull_request(
        self, head: str, base: str, title: str, body: str, draft: bool
    ) -> PullRequest:
        existing = self.find_pull_request(head)
        verb = f"update pull request #{existing.number}" if existing else "open a pull request"
        kind = "draft " if draft and not existing else ""
        self._say(f"would {verb} {kind}from {head} into {base}: {title}", body)
        if existing is not None and existing.state == "open" and existing.draft != draft:
            self._say(f"would {'turn it into a draft' if draft else 'mark it ready for review'}")
        self._pull = PullRequest(
            number=existing.number if existing else 0,
            title=title,
            body=body,
            head=head,
            base=base,
            draft=draft,
            url=existing.url if existing else None,
        )
        return self._pull

    def open_issue(self, title: str, body: str, labels: list[str], assignees: list[str]) -> Issue:
        number = self._made_up_id()
        people = f", assigned to {', '.join(assignees)}" if assignees else ""
        self._say(
            f"would open an issue (#{number} in this dry run) labelled {labels}{people}: {title}",
            body,
        )
        issue = Issue(
            number=number,
            title=title,
            body=body,
            author=DRY_RUN_ACTOR,
            labels=list(labels),
            created_at=datetime.now(UTC),
        )
        self._opened.append(issue)
        return issue

    def close_issue(self, number: int) -> Issue:
        self._say(f"would close #{number}")
        opened = next((issue for issue in self._opened if issue.number == number), None)
        issue = opened or self.inner.get_issue(number)
        return issue.model_copy(update={"state": "closed", "closed_at": datetime.now(UTC)})

    def request_reviewers(self, number: int, reviewers: list[str]) -> None:
        self._say(f"would ask {', '.join(reviewers)} to review #{number}")

    # --- helpers -------------------------------------------------------------------
    def _made_up_id(self) -> int:
        made_up, self._next_id = self._next_id, self._next_id - 1
        return made_up

    def _say(self, headline: str, detail: str = "") -> None:
        self.writes += 1
        print(f"[dry run] {headline}", file=self.out)
        if detail:
            print("\n".join(f"    {line}" for line in detail.splitlines()), file=self.out)
        self.out.flush()

    def _comment(self, body: str, comment_id: int | None) -> Comment:
        if comment_id is None:
            comment_id = self._made_up_id()
        return Comment(
            id=comment_id,
            author=DRY_RUN_ACTOR,
            body=body,
            created_at=datetime.now(UTC),
            author_is_bot=True,
        )
