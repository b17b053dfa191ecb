"""JSON bodies shaped like GitHub's REST responses, every `url` built from the double's
own address (PyGithub follows them, so they must lead back here)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from tests.github_double.gitstore import Commit, TreeEntry
from tests.github_double.state import (
    ROLE_TO_LEGACY_PERMISSION,
    Comment,
    Issue,
    Label,
    Milestone,
    PullRequest,
    Repository,
    User,
)

Json = dict[str, Any]

# The repository's *_url fields, as (field, path after the repository url).
_REPO_URL_FIELDS = [
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("hooks_url", "/hooks"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    ("notifications_url", "/notifications{?since,all,participating}"),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
]


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


class Payloads:
    """Builds response bodies for one repository served at `api` (no trailing slash)."""

    def __init__(self, repo: Repository, api: str) -> None:
        self.repo = repo
        self.api = api
        self.html = f"{api}/_html"
        self.repo_url = f"{api}/repos/{repo.full_name}"
        self.repo_html = f"{self.html}/{repo.full_name}"

    # --- people --------------------------------------------------------------------
    def user(self, login: str | None) -> Json | None:
        if login is None:
            return None
        known = self.repo.users.get(login) or User(login, abs(hash(login)) % 10**8)
        url = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": known.id,
            "node_id": node_id("User", known.id),
            "avatar_url": f"{self.html}/avatars/{known.id}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.html}/{login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": known.type,
            "site_admin": False,
        }

    def author_association(self, login: str) -> str:
        if login == self.repo.owner:
            return "OWNER"
        return "COLLABORATOR" if login in self.repo.roles else "NONE"

    # --- repository ----------------------------------------------------------------
    def repository(self, full: bool = True) -> Json:
        r = self.repo
        body: Json = {
            "id": r.id,
            "node_id": node_id("Repository", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "owner": self.user(r.owner),
            "private": r.private,
            "visibility": "private" if r.private else "public",
            "html_url": self.repo_html,
            "description": None,
            "fork": False,
            "url": self.repo_url,
            "clone_url": f"{self.repo_html}.git",
            "git_url": f"git://127.0.0.1/{r.full_name}.git",
            "ssh_url": f"git@127.0.0.1:{r.full_name}.git",
            "svn_url": self.repo_html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "size": len(r.git.blobs),
            "default_branch": r.default_branch,
            "open_issues": sum(1 for i in r.issues.values() if i.state == "open"),
            "open_issues_count": sum(1 for i in r.issues.values() if i.state == "open"),
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "license": None,
            "pushed_at": iso(r.created_at),
            "created_at": iso(r.created_at),
            "updated_at": iso(r.created_at),
            "allow_forking": True,
            "web_commit_signoff_required": False,
        }
        for field_name, suffix in _REPO_URL_FIELDS:
            body[field_name] = self.repo_url + suffix
        if full:
            body["network_count"] = 0
            body["subscribers_count"] = 0
        return body

    # --- issues --------------------------------------------------------------------
    def label(self, label: Label) -> Json:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_url}/labels/{label.name}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": label.default,
        }

    def issue_labels(self, names: list[str]) -> list[Json]:
        labels = (self.repo.find_label(n) for n in names)
        return [self.label(lbl) for lbl in labels if lbl is not None]

    def issue(self, issue: Issue) -> Json:
        url = f"{self.repo_url}/issues/{issue.number}"
        kind = "pull" if issue.is_pull_request else "issues"
        body: Json = {
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "url": url,
            "repository_url": self.repo_url,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.repo_html}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.user),
            "labels": self.issue_labels(issue.labels),
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(a) for a in issue.assignees],
            "milestone": self.milestone_or_none(issue.milestone),
            "locked": False,
            "active_lock_reason": None,
            "comments": len(self.repo.comments_on(issue.number)),
            "closed_at": iso(issue.closed_at),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_by": None,
            "author_association": self.author_association(issue.user),
            "timeline_url": f"{url}/timeline",
        }
        if issue.state == "closed":
            body["state_reason"] = "completed"
        if issue.is_pull_request:
            pull = self.repo.pulls[issue.number]
            pull_url = f"{self.repo_url}/pulls/{issue.number}"
            body["pull_request"] = {
                "url": pull_url,
                "html_url": body["html_url"],
                "diff_url": body["html_url"] + ".diff",
                "patch_url": body["html_url"] + ".patch",
                "merged_at": iso(issue.closed_at) if pull.merged else None,
            }
            body["draft"] = pull.draft
        return body

    def comment(self, comment: Comment) -> Json:
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": f"{self.repo_url}/issues/comments/{comment.id}",
            "html_url": f"{self.repo_html}/issues/{comment.issue}#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_url}/issues/{comment.issue}",
            "body": comment.body,
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": self.author_association(comment.user),
            "performed_via_github_app": None,
        }

    def milestone_or_none(self, number: int | None) -> Json | None:
        if number is None or number not in self.repo.milestones:
            return None
        return self.milestone(self.repo.milestones[number])

    def milestone(self, m: Milestone) -> Json:
        url = f"{self.repo_url}/milestones/{m.number}"
        in_it = [i for i in self.repo.issues.values() if i.milestone == m.number]
        return {
            "url": url,
            "html_url": f"{self.repo_html}/milestone/{m.number}",
            "labels_url": f"{url}/labels",
            "id": m.id,
            "node_id": node_id("Milestone", m.id),
            "number": m.number,
            "state": m.state,
            "title": m.title,
            "description": m.description,
            "creator": self.user(m.creator),
            "open_issues": sum(1 for i in in_it if i.state == "open"),
            "closed_issues": sum(1 for i in in_it if i.state == "closed"),
            "created_at": iso(m.created_at),
            "updated_at": iso(m.updated_at),
            "closed_at": None,
            "due_on": iso(m.due_on),
        }

    # --- pull requests -------------------------------------------------------------
    def pull(self, pull: PullRequest, full: bool = True) -> Json:
        issue = self.repo.issues[pull.number]
        url = f"{self.repo_url}/pulls/{pull.number}"
        html = f"{self.repo_html}/pull/{pull.number}"
        issue_url = f"{self.repo_url}/issues/{pull.number}"
        head_sha = self.repo.git.refs.get(f"refs/heads/{pull.head}", pull.head_sha)
        base_sha = self.repo.git.refs.get(f"refs/heads/{pull.base}", pull.base_sha)
        body: Json = {
            "url": url,
            "id": pull.id,
            "node_id": node_id("PullRequest", pull.id),
            "html_url": html,
            "diff_url": html + ".diff",
            "patch_url": html + ".patch",
            "issue_url": issue_url,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.repo_url}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{self.repo_url}/statuses/{head_sha}",
            "number": pull.number,
            "state": issue.state,
            "locked": False,
            "title": issue.title,
            "user": self.user(pull.user),
            "body": issue.body,
            "labels": self.issue_labels(issue.labels),
            "milestone": self.milestone_or_none(issue.milestone),
            "active_lock_reason": None,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "merged_at": iso(issue.closed_at) if pull.merged else None,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user(a) for a in issue.assignees],
            "requested_reviewers": [self.user(login) for login in pull.requested_reviewers],
            "requested_teams": [self.team(slug) for slug in pull.requested_teams],
            "head": self._branch(pull.head, head_sha),
            "base": self._branch(pull.base, base_sha),
            "_links": {
                name: {"href": href}
                for name, href in [
                    ("self", url),
                    ("html", html),
                    ("issue", issue_url),
                    ("comments", f"{issue_url}/comments"),
                    ("review_comments", f"{url}/comments"),
                    ("review_comment", f"{self.repo_url}/pulls/comments{{/number}}"),
                    ("commits", f"{url}/commits"),
                    ("statuses", f"{self.repo_url}/statuses/{head_sha}"),
                ]
            },
            "author_association": self.author_association(pull.user),
            "auto_merge": None,
            "draft": pull.draft,
        }
        if full:
            head_commits = self.repo.git.history(pull.head) if head_sha else []
            ahead = [c for c in head_commits if not self.repo.git.is_ancestor(c.sha, base_sha)]
            body.update(
                merged=pull.merged,
                mergeable=True,
                rebaseable=True,
                mergeable_state="clean",
                merged_by=None,
                comments=len(self.repo.comments_on(pull.number)),
                review_comments=0,
                maintainer_can_modify=False,
                commits=len(ahead),
                additions=0,
                deletions=0,
                changed_files=0,
            )
        return body

    def _branch(self, name: str, sha: str) -> Json:
        return {
            "label": f"{self.repo.owner}:{name}",
            "ref": name,
            "sha": sha,
            "user": self.user(self.repo.owner),
            "repo": self.repository(full=False),
        }

    def team(self, slug: str) -> Json:
        number = abs(hash(slug)) % 10**6
        url = f"{self.api}/orgs/{self.repo.owner}/teams/{slug}"
        return {
            "id": number,
            "node_id": node_id("Team", number),
            "url": url,
            "html_url": f"{self.html}/orgs/{self.repo.owner}/teams/{slug}",
            "name": slug,
            "slug": slug,
            "description": None,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "push",
            "members_url": f"{url}/members{{/member}}",
            "repositories_url": f"{url}/repos",
            "parent": None,
        }

    def permission(self, login: str) -> Json:
        role = self.repo.role_of(login)
        user = self.user(login) or {}
        user["permissions"] = {
            "admin": role == "admin",
            "maintain": role in ("admin", "maintain"),
            "push": role in ("admin", "maintain", "write"),
            "triage": role in ("admin", "maintain", "write", "triage"),
            "pull": role != "none",
        }
        user["role_name"] = role
        return {
            "permission": ROLE_TO_LEGACY_PERMISSION.get(role, "read"),
            "role_name": role,
            "user": user,
        }

    # --- git -----------------------------------------------------------------------
    def ref(self, name: str, sha: str) -> Json:
        return {
            "ref": name,
            "node_id": node_id("Ref", abs(hash(name)) % 10**8),
            "url": f"{self.repo_url}/git/{name}",
            "object": {
                "type": "commit",
                "sha": sha,
                "url": f"{self.repo_url}/git/commits/{sha}",
            },
        }

    def blob(self, sha: str) -> Json:
        return {"sha": sha, "url": f"{self.repo_url}/git/blobs/{sha}"}

    def tree(self, sha: str, recursive: bool) -> Json:
        git = self.repo.git
        entries = git.walk(sha) if recursive else [(e.name, e) for e in git.trees[sha]]
        return {
            "sha": sha,
            "url": f"{self.repo_url}/git/trees/{sha}",
            "tree": [self._tree_entry(path, e) for path, e in entries],
            "truncated": False,
        }

    def _tree_entry(self, path: str, entry: TreeEntry) -> Json:
        kind = "blobs" if entry.type == "blob" else "trees"
        out: Json = {
            "path": path,
            "mode": entry.mode,
            "type": entry.type,
            "sha": entry.sha,
            "url": f"{self.repo_url}/git/{kind}/{entry.sha}",
        }
        if entry.type == "blob":
            out["size"] = len(self.repo.git.blobs[entry.sha])
        return out

    def commit(self, commit: Commit) -> Json:
        def person(p: Any) -> Json:
            return {"name": p.name, "email": p.email, "date": iso(p.date)}

        return {
            "sha": commit.sha,
            "node_id": node_id("Commit", int(commit.sha[:7], 16)),
            "url": f"{self.repo_url}/git/commits/{commit.sha}",
            "html_url": f"{self.repo_html}/commit/{commit.sha}",
            "author": person(commit.author),
            "committer": person(commit.committer),
            "message": commit.message,
            "tree": {"sha": commit.tree, "url": f"{self.repo_url}/git/trees/{commit.tree}"},
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.repo_url}/git/commits/{p}",
                    "html_url": f"{self.repo_html}/commit/{p}",
                }
                for p in commit.parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def content_entry(self, path: str, entry: TreeEntry, ref: str) -> Json:
        """One item of the contents API (a file gets its base64 text from `content_file`)."""
        name = path.rsplit("/", 1)[-1]
        kind = "file" if entry.type == "blob" else "dir"
        url = f"{self.repo_url}/contents/{path}?ref={ref}"
        git_url = f"{self.repo_url}/git/{'blobs' if kind == 'file' else 'trees'}/{entry.sha}"
        html = f"{self.repo_html}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
        size = len(self.repo.git.blobs[entry.sha]) if kind == "file" else 0
        return {
            "type": kind,
            "size": size,
            "name": name,
            "path": path,
            "sha": entry.sha,
            "url": url,
            "git_url": git_url,
            "html_url": html,
            "download_url": f"{self.html}/raw/{self.repo.full_name}/{ref}/{path}"
            if kind == "file"
            else None,
            "_links": {"self": url, "git": git_url, "html": html},
        }

    def content_file(self, path: str, entry: TreeEntry, ref: str) -> Json:
        body = self.content_entry(path, entry, ref)
        raw = self.repo.git.blobs[entry.sha]
        encoded = base64.b64encode(raw).decode()
        # GitHub wraps the base64 text at 60 characters per line.
        body["content"] = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
        body["encoding"] = "base64"
        return body
