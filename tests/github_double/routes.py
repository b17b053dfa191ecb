"""The REST endpoints the forge uses (those in ../shared/reference/github/openapi-subset.json),
with GitHub's status codes and error bodies. Everything else answers 404, so a forge that
strays outside the documented subset fails here as it would against the unseen double.

A few endpoints are registered with `subset=False` (GraphQL and GET /user are served
beside the repository's routes, likewise outside): the forge needs them and GitHub
documents them publicly (REST reference pages), but they are not in the validated subset,
so the OpenAPI checks skip them and a double built from the subset alone may answer 404.
The forge treats each of them as optional (see incident_ops/forge/github.py)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from tests.github_double.gitstore import VALID_BLOB_MODES, GitError, Person
from tests.github_double.graphql import GRAPHQL_PATH, answer_graphql
from tests.github_double.http import (
    ApiError,
    Request,
    Response,
    not_found,
    paginate,
    require,
    validation_failed,
)
from tests.github_double.payloads import Payloads
from tests.github_double.state import Issue, Milestone, PullRequest, Repository, now

MAX_BODY = 65536
Handler = Callable[["Api", Request], Response]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
_OUTSIDE_SUBSET: list[tuple[str, re.Pattern[str]]] = []
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
USER_PATH = "/user"  # "Get the authenticated user": documented, outside the subset


def route(method: str, pattern: str, *, subset: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler; `subset=False` marks an endpoint outside the validated subset."""

    def register(fn: Handler) -> Handler:
        compiled = re.compile(f"^{_REPO}{pattern}$")
        _ROUTES.append((method, compiled, fn))
        if not subset:
            _OUTSIDE_SUBSET.append((method, compiled))
        return fn

    return register


def outside_subset(method: str, path: str) -> bool:
    """True for requests to endpoints the double serves beyond the validated subset
    (GraphQL included)."""
    if path in (GRAPHQL_PATH, USER_PATH):
        return True
    return any(verb == method and pattern.match(path) for verb, pattern in _OUTSIDE_SUBSET)


def match(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    for verb, pattern, fn in _ROUTES:
        found = pattern.match(path)
        if found and verb == method:
            return fn, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def path_exists(path: str) -> bool:
    return any(pattern.match(path) for _, pattern, _ in _ROUTES)


class Api:
    """Route handlers over one repository; call `handle` with a parsed request."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    def handle(self, req: Request) -> Response:
        if req.path == GRAPHQL_PATH and req.method == "POST":
            if req.login is None:
                raise ApiError(401, "This endpoint requires you to be authenticated.")
            with self.repo.lock:
                return Response(200, answer_graphql(self.repo, req.login, req.json_object()))
        if req.path == USER_PATH and req.method == "GET":
            return self.authenticated_user(req)
        found = match(req.method, req.path)
        if found is None:
            if path_exists(req.path):
                raise ApiError(404, "Not Found")  # GitHub answers 404, not 405
            raise not_found()
        handler, params = found
        if (params["owner"].lower(), params["repo"].lower()) != (
            self.repo.owner.lower(),
            self.repo.name.lower(),
        ):
            raise not_found()
        req.params = params
        if req.method != "GET" and req.login is None:
            raise ApiError(401, "Requires authentication")
        if self.repo.private and req.login is None:
            raise not_found()
        with self.repo.lock:
            return handler(self, req)

    def authenticated_user(self, req: Request) -> Response:
        """GitHub's "Get the authenticated user": 401 without a token, and 403 for an
        app's installation token (a [bot] login here), as GitHub answers GITHUB_TOKEN."""
        if req.login is None:
            raise ApiError(401, "Requires authentication")
        if req.login.endswith("[bot]"):
            raise ApiError(403, "Resource not accessible by integration")
        with self.repo.lock:
            return Response(200, self.out(req).user(req.login))

    # --- helpers -------------------------------------------------------------------
    def out(self, req: Request) -> Payloads:
        return Payloads(self.repo, req.base)

    def must_push(self, req: Request) -> None:
        if req.login is None or not self.repo.can_push(req.login):
            raise ApiError(403, "Resource not accessible by integration")

    def issue(self, req: Request, key: str = "number") -> Issue:
        number = req.params[key]
        if not number.isdigit() or int(number) not in self.repo.issues:
            raise not_found()
        return self.repo.issues[int(number)]

    def head(self) -> str | None:
        return self.repo.git.refs.get(f"refs/heads/{self.repo.default_branch}")

    def require_git(self) -> None:
        if not self.repo.git.refs:
            raise ApiError(409, "Git Repository is empty.")


def _check_body_size(resource: str, text: Any) -> None:
    if isinstance(text, str) and len(text) > MAX_BODY:
        raise validation_failed(
            resource, "body", "custom", f"body is too long (maximum is {MAX_BODY} characters)"
        )


def _label_names(raw: Any) -> list[str]:
    items = raw.get("labels") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise validation_failed("Label", "labels", "invalid")
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name:
            raise validation_failed("Label", "name", "invalid")
        names.append(name)
    return names


def _created(body: Any, location: str) -> Response:
    return Response(201, body, {"Location": location})


# --- repository ---------------------------------------------------------------------
@route("GET", "")
def get_repo(api: Api, req: Request) -> Response:
    return Response(200, api.out(req).repository())


@route("GET", r"/collaborators/(?P<username>[^/]+)/permission")
def get_permission(api: Api, req: Request) -> Response:
    login = req.params["username"]
    if login not in api.repo.users:
        raise ApiError(404, f"{login} is not a user")
    return Response(200, api.out(req).permission(login))


# --- labels -------------------------------------------------------------------------
@route("GET", "/labels")
def list_labels(api: Api, req: Request) -> Response:
    labels = sorted(api.repo.labels.values(), key=lambda lbl: lbl.name.lower())
    return paginate(req, [api.out(req).label(lbl) for lbl in labels])


@route("POST", "/labels")
def create_label(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    require(body, "Label", "name")
    name = str(body["name"])
    color = str(body.get("color") or "ededed").lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
        raise validation_failed("Label", "color", "invalid")
    description = body.get("description")
    if isinstance(description, str) and len(description) > 100:
        raise validation_failed("Label", "description", "invalid")
    if api.repo.find_label(name):
        raise validation_failed("Label", "name", "already_exists")
    label = api.repo.ensure_label(name, color.lower(), description)
    payload = api.out(req).label(label)
    return _created(payload, payload["url"])


# --- issues -------------------------------------------------------------------------
@route("POST", "/issues")
def create_issue(api: Api, req: Request) -> Response:
    body = req.json_object()
    require(body, "Issue", "title")
    _check_body_size("Issue", body.get("body"))
    assert req.login is not None
    may_push = api.repo.can_push(req.login)
    assignees = body.get("assignees") or []
    if may_push:
        # GitHub refuses the whole issue when one assignee cannot be assigned here.
        for login in assignees:
            if not isinstance(login, str) or not api.repo.can_push(login):
                raise ApiError(422, "Validation Failed", [_invalid_assignee(login)])
    issue = api.repo.open_issue(str(body["title"]), body.get("body") or "", req.login)
    if may_push:
        # Labels and assignees from someone without push access are silently dropped.
        for name in _label_names(body.get("labels") or []):
            issue.labels.append(api.repo.ensure_label(name).name)
        issue.assignees = list(dict.fromkeys(assignees))
        if isinstance(body.get("milestone"), int) and body["milestone"] in api.repo.milestones:
            issue.milestone = body["milestone"]
    payload = api.out(req).issue(issue)
    return _created(payload, payload["url"])


def _invalid_assignee(login: Any) -> dict[str, Any]:
    return {"value": login, "resource": "Issue", "field": "assignees", "code": "invalid"}


@route("GET", "/issues", subset=False)
def list_issues(api: Api, req: Request) -> Response:
    """GitHub's "List repository issues": pull requests are issues too and are listed;
    `labels` is a comma-separated list the issue must carry all of."""
    state = req.query.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise validation_failed("Issue", "state", "invalid")
    wanted = {n.strip().lower() for n in req.query.get("labels", "").split(",") if n.strip()}
    items = list(api.repo.issues.values())
    items = [i for i in items if state == "all" or i.state == state]
    items = [i for i in items if wanted <= {n.lower() for n in i.labels}]
    if req.query.get("creator"):
        items = [i for i in items if i.user == req.query["creator"]]
    since = req.query.get("since")
    if since:
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        items = [i for i in items if i.updated_at >= moment]
    key = req.query.get("sort", "created")
    if key not in ("created", "updated", "comments"):
        raise validation_failed("Issue", "sort", "invalid")
    items.sort(
        key=lambda i: (
            len(api.repo.comments_on(i.number)) if key == "comments" else getattr(i, f"{key}_at"),
            i.number,
        ),
        reverse=req.query.get("direction", "desc") != "asc",
    )
    return paginate(req, [api.out(req).issue(i) for i in items])


@route("GET", r"/issues/(?P<number>\d+)")
def get_issue(api: Api, req: Request) -> Response:
    return Response(200, api.out(req).issue(api.issue(req)))


@route("PATCH", r"/issues/(?P<number>\d+)")
def update_issue(api: Api, req: Request) -> Response:
    issue = api.issue(req)
    body = req.json_object()
    assert req.login is not None
    if not api.repo.can_push(req.login) and req.login != issue.user:
        raise ApiError(403, "Resource not accessible by integration")
    _check_body_size("Issue", body.get("body"))
    if "title" in body:
        if not body["title"]:
            raise validation_failed("Issue", "title", "missing_field")
        issue.title = str(body["title"])
    if "body" in body:
        issue.body = body["body"]
    if "state" in body:
        if body["state"] not in ("open", "closed"):
            raise validation_failed("Issue", "state", "invalid")
        issue.state = body["state"]
        issue.closed_at = now() if issue.state == "closed" else None
    if api.repo.can_push(req.login):
        if "labels" in body:
            issue.labels = [api.repo.ensure_label(n).name for n in _label_names(body["labels"])]
        if "assignees" in body:
            assignees = body["assignees"] or []
            if not isinstance(assignees, list):
                raise validation_failed("Issue", "assignees", "invalid")
            issue.assignees = [a for a in assignees if api.repo.can_push(a)]
        if "milestone" in body:
            issue.milestone = (
                body["milestone"] if body["milestone"] in api.repo.milestones else None
            )
    issue.updated_at = now()
    return Response(200, api.out(req).issue(issue))


@route("POST", r"/issues/(?P<number>\d+)/labels")
def add_labels(api: Api, req: Request) -> Response:
    issue = api.issue(req)
    api.must_push(req)
    names = _label_names(req.body)
    if not names:
        raise validation_failed("Label", "labels", "missing_field")
    for name in names:
        label = api.repo.ensure_label(name)
        if label.name not in issue.labels:
            issue.labels.append(label.name)
    issue.updated_at = now()
    return Response(200, api.out(req).issue_labels(issue.labels))


@route("GET", r"/issues/(?P<number>\d+)/comments")
def list_comments(api: Api, req: Request) -> Response:
    issue = api.issue(req)
    comments = api.repo.comments_on(issue.number)
    since = req.query.get("since")
    if since:
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        comments = [c for c in comments if c.updated_at >= moment]
    return paginate(req, [api.out(req).comment(c) for c in comments])


@route("POST", r"/issues/(?P<number>\d+)/comments")
def create_comment(api: Api, req: Request) -> Response:
    issue = api.issue(req)
    body = req.json_object()
    require(body, "IssueComment", "body")
    _check_body_size("IssueComment", body["body"])
    assert req.login is not None
    comment = api.repo.add_comment(issue.number, req.login, str(body["body"]))
    payload = api.out(req).comment(comment)
    return _created(payload, payload["url"])


@route("PATCH", r"/issues/comments/(?P<comment_id>\d+)")
def update_comment(api: Api, req: Request) -> Response:
    comment = api.repo.comments.get(int(req.params["comment_id"]))
    if comment is None:
        raise not_found()
    assert req.login is not None
    if req.login != comment.user and not api.repo.can_push(req.login):
        raise ApiError(403, "Resource not accessible by integration")
    body = req.json_object()
    require(body, "IssueComment", "body")
    _check_body_size("IssueComment", body["body"])
    comment.body = str(body["body"])
    comment.updated_at = now()
    return Response(200, api.out(req).comment(comment))


@route("DELETE", r"/issues/comments/(?P<comment_id>\d+)", subset=False)
def delete_comment(api: Api, req: Request) -> Response:
    """GitHub's "Delete an issue comment": 204 and no body; the author or someone with
    push access may delete it, and a comment already gone answers 404."""
    comment = api.repo.comments.get(int(req.params["comment_id"]))
    if comment is None:
        raise not_found()
    assert req.login is not None
    if req.login != comment.user and not api.repo.can_push(req.login):
        raise ApiError(403, "Resource not accessible by integration")
    del api.repo.comments[comment.id]
    return Response(204)


# --- milestones ---------------------------------------------------------------------
@route("GET", "/milestones")
def list_milestones(api: Api, req: Request) -> Response:
    state = req.query.get("state", "open")
    items = [m for m in api.repo.milestones.values() if state == "all" or m.state == state]
    return paginate(req, [api.out(req).milestone(m) for m in items])


@route("POST", "/milestones")
def create_milestone(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    require(body, "Milestone", "title")
    if any(m.title == body["title"] for m in api.repo.milestones.values()):
        raise validation_failed("Milestone", "title", "already_exists")
    due = body.get("due_on")
    assert req.login is not None
    milestone = Milestone(
        number=max(api.repo.milestones, default=0) + 1,
        id=api.repo.new_id(),
        title=str(body["title"]),
        creator=req.login,
        state=body.get("state", "open"),
        description=body.get("description"),
        due_on=datetime.fromisoformat(due.replace("Z", "+00:00")) if due else None,
    )
    api.repo.milestones[milestone.number] = milestone
    payload = api.out(req).milestone(milestone)
    return _created(payload, payload["url"])


# --- git data -----------------------------------------------------------------------
@route("GET", r"/git/ref/(?P<ref>.+)")
def get_ref(api: Api, req: Request) -> Response:
    api.require_git()
    name = "refs/" + req.params["ref"]
    sha = api.repo.git.refs.get(name)
    if sha is None:
        raise not_found()
    return Response(200, api.out(req).ref(name, sha))


@route("POST", "/git/refs")
def create_ref(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    require(body, "Reference", "ref", "sha")
    name, sha = str(body["ref"]), str(body["sha"])
    if not name.startswith("refs/") or name.count("/") < 2:
        raise ApiError(422, "Reference name is invalid")
    if sha not in api.repo.git.commits:
        raise ApiError(422, "Object does not exist")
    if name in api.repo.git.refs:
        raise ApiError(422, "Reference already exists")
    api.repo.git.refs[name] = sha
    payload = api.out(req).ref(name, sha)
    return _created(payload, payload["url"])


@route("PATCH", r"/git/refs/(?P<ref>.+)")
def update_ref(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    require(body, "Reference", "sha")
    name, sha = "refs/" + req.params["ref"], str(body["sha"])
    current = api.repo.git.refs.get(name)
    if current is None:
        raise ApiError(422, "Reference does not exist")
    if sha not in api.repo.git.commits:
        raise ApiError(422, "Object does not exist")
    if not body.get("force") and not api.repo.git.is_ancestor(current, sha):
        raise ApiError(422, "Update is not a fast forward")
    api.repo.git.refs[name] = sha
    return Response(200, api.out(req).ref(name, sha))


@route("POST", "/git/blobs")
def create_blob(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    if not isinstance(body.get("content"), str):
        raise validation_failed("Blob", "content", "missing_field")
    encoding = body.get("encoding", "utf-8")
    if encoding == "base64":
        try:
            raw = base64.b64decode(body["content"], validate=False)
        except binascii.Error as exc:
            raise ApiError(422, "content is not valid Base64") from exc
    elif encoding in ("utf-8", "utf8"):
        raw = body["content"].encode()
    else:
        raise validation_failed("Blob", "encoding", "invalid")
    sha = api.repo.git.put_blob(raw)
    payload = api.out(req).blob(sha)
    return _created(payload, payload["url"])


@route("POST", "/git/trees")
def create_tree(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    git = api.repo.git
    items = body.get("tree")
    if not isinstance(items, list):
        raise validation_failed("Tree", "tree", "missing_field")
    base = body.get("base_tree")
    if base is not None and base not in git.trees:
        raise ApiError(422, "base_tree is not a valid tree oid")
    changes: dict[str, tuple[str, str] | None] = {}
    for index, item in enumerate(items):
        path, mode = item.get("path"), item.get("mode")
        if not isinstance(path, str) or mode not in VALID_BLOB_MODES or item.get("type") != "blob":
            raise ApiError(422, f"tree.{index} is invalid: path, mode and type are required")
        if "content" in item and item["content"] is not None:
            changes[path] = (mode, git.put_blob(str(item["content"]).encode()))
        elif item.get("sha") is None:
            changes[path] = None  # a null sha deletes the file
        elif item["sha"] in git.blobs:
            changes[path] = (mode, item["sha"])
        else:
            raise ApiError(422, f"tree.sha {item['sha']} is not a valid blob")
    try:
        sha = git.build_tree(base, changes)
    except GitError as exc:
        raise ApiError(422, str(exc)) from exc
    payload = api.out(req).tree(sha, recursive=False)
    return _created(payload, payload["url"])


@route("GET", r"/git/trees/(?P<tree_sha>.+)")
def get_tree(api: Api, req: Request) -> Response:
    api.require_git()
    git = api.repo.git
    key = req.params["tree_sha"]
    sha = key if key in git.trees else None
    if sha is None:
        commit = git.resolve(key)
        sha = git.commits[commit].tree if commit else None
    if sha is None:
        raise not_found()
    return Response(200, api.out(req).tree(sha, recursive="recursive" in req.query))


@route("POST", "/git/commits")
def create_commit(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    require(body, "Commit", "message", "tree")
    parents = body.get("parents") or []
    assert req.login is not None
    author = _person(body.get("author"), req.login)
    committer = _person(body.get("committer"), req.login) if body.get("committer") else author
    try:
        sha = api.repo.git.put_commit(
            str(body["tree"]), parents, body["message"], author, committer
        )
    except GitError as exc:
        raise ApiError(422, str(exc)) from exc
    payload = api.out(req).commit(api.repo.git.commits[sha])
    return _created(payload, payload["url"])


@route("GET", r"/git/commits/(?P<sha>[0-9a-fA-F]+)")
def get_commit(api: Api, req: Request) -> Response:
    api.require_git()
    commit = api.repo.git.commits.get(req.params["sha"])
    if commit is None:
        raise not_found()
    return Response(200, api.out(req).commit(commit))


def _person(raw: Any, login: str) -> Person:
    if isinstance(raw, dict) and raw.get("name") and raw.get("email"):
        date = raw.get("date")
        when = datetime.fromisoformat(date.replace("Z", "+00:00")) if date else now()
        return Person(str(raw["name"]), str(raw["email"]), when)
    return Person(login, f"{login}@users.noreply.example", now())


# --- contents -----------------------------------------------------------------------
@route("GET", r"/contents/?(?P<path>.*)")
def get_contents(api: Api, req: Request) -> Response:
    git = api.repo.git
    if not git.refs:
        raise ApiError(404, "This repository is empty.")
    ref = req.query.get("ref") or api.repo.default_branch
    commit = git.resolve(ref)
    if commit is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    path = req.params["path"].strip("/")
    entry = git.entry_at(commit, path)
    if entry is None:
        raise not_found()
    out = api.out(req)
    if entry.type == "blob":
        return Response(200, out.content_file(path, entry, ref))
    prefix = f"{path}/" if path else ""
    listing = [out.content_entry(prefix + e.name, e, ref) for e in git.trees[entry.sha]]
    return Response(200, listing)


@route("PUT", r"/contents/(?P<path>.+)")
def put_contents(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    require(body, "Content", "message", "content")
    git = api.repo.git
    branch = body.get("branch") or api.repo.default_branch
    head = git.refs.get(f"refs/heads/{branch}")
    if head is None and git.refs:
        raise ApiError(404, f"Branch {branch} not found")
    path = req.params["path"].strip("/")
    existing = git.entry_at(head, path) if head else None
    if existing is not None and not body.get("sha"):
        raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    if existing is not None and body["sha"] != existing.sha:
        raise ApiError(409, f"{path} does not match {body['sha']}")
    try:
        raw = base64.b64decode(str(body["content"]), validate=True)
    except binascii.Error as exc:
        raise ApiError(422, "content is not valid Base64") from exc
    assert req.login is not None
    tree = git.build_tree(
        git.commits[head].tree if head else None, {path: ("100644", git.put_blob(raw))}
    )
    person = _person(body.get("committer"), req.login)
    sha = git.put_commit(tree, [head] if head else [], str(body["message"]), person, person)
    git.refs[f"refs/heads/{branch}"] = sha
    entry = git.entry_at(sha, path)
    assert entry is not None
    out = api.out(req)
    content = out.content_entry(path, entry, branch)
    payload = {"content": content, "commit": out.commit(git.commits[sha])}
    return Response(200 if existing else 201, payload)


# --- pull requests ------------------------------------------------------------------
def _split_head(api: Api, head: str) -> tuple[str | None, str]:
    owner, sep, branch = head.partition(":")
    return (owner, branch) if sep else (None, head)


@route("GET", "/pulls")
def list_pulls(api: Api, req: Request) -> Response:
    state = req.query.get("state", "open")
    pulls = sorted(api.repo.pulls.values(), key=lambda p: -p.number)
    head = req.query.get("head")
    if head and ":" in head:
        # Like GitHub, a head filter without "owner:" is ignored and matches every PR.
        owner, branch = _split_head(api, head)
        pulls = [p for p in pulls if owner == api.repo.owner and p.head == branch]
    if req.query.get("base"):
        pulls = [p for p in pulls if p.base == req.query["base"]]
    issues = api.repo.issues
    pulls = [p for p in pulls if state == "all" or issues[p.number].state == state]
    out = api.out(req)
    return paginate(req, [out.pull(p, full=False) for p in pulls])


@route("POST", "/pulls")
def create_pull(api: Api, req: Request) -> Response:
    api.must_push(req)
    body = req.json_object()
    require(body, "PullRequest", "head", "base", "title")
    owner, head = _split_head(api, str(body["head"]))
    base = str(body["base"])
    git = api.repo.git
    if (owner not in (None, api.repo.owner)) or f"refs/heads/{head}" not in git.refs:
        raise validation_failed("PullRequest", "head", "invalid")
    if f"refs/heads/{base}" not in git.refs:
        raise validation_failed("PullRequest", "base", "invalid")
    for pull in api.repo.pulls.values():
        if pull.head == head and pull.base == base and api.repo.issues[pull.number].state == "open":
            raise validation_failed(
                "PullRequest",
                None,
                "custom",
                f"A pull request already exists for {api.repo.owner}:{head}.",
            )
    head_sha, base_sha = git.refs[f"refs/heads/{head}"], git.refs[f"refs/heads/{base}"]
    if git.is_ancestor(head_sha, base_sha):
        raise validation_failed(
            "PullRequest", None, "custom", f"No commits between {base} and {head}"
        )
    _check_body_size("PullRequest", body.get("body"))
    assert req.login is not None
    issue = api.repo.open_issue(str(body["title"]), body.get("body") or "", req.login)
    issue.is_pull_request = True
    pull = PullRequest(
        issue.number, api.repo.new_id(), head, base, req.login, bool(body.get("draft"))
    )
    pull.head_sha, pull.base_sha = head_sha, base_sha
    api.repo.pulls[pull.number] = pull
    payload = api.out(req).pull(pull)
    return _created(payload, payload["url"])


@route("GET", r"/pulls/(?P<number>\d+)")
def get_pull(api: Api, req: Request) -> Response:
    pull = api.repo.pulls.get(int(req.params["number"]))
    if pull is None:
        raise not_found()
    return Response(200, api.out(req).pull(pull))


@route("POST", r"/pulls/(?P<number>\d+)/requested_reviewers", subset=False)
def request_reviewers(api: Api, req: Request) -> Response:
    """GitHub's "Request reviewers for a pull request": every user must be a collaborator
    and every team must have access, else the whole request is refused with 422."""
    api.must_push(req)
    pull = api.repo.pulls.get(int(req.params["number"]))
    if pull is None:
        raise not_found()
    body = req.json_object()
    users, teams = body.get("reviewers") or [], body.get("team_reviewers") or []
    if not isinstance(users, list) or not isinstance(teams, list):
        raise validation_failed("PullRequest", "reviewers", "invalid")
    if pull.user in users:
        raise ApiError(422, "Review cannot be requested from pull request author.")
    unknown = [u for u in users if u not in api.repo.roles] + [
        t for t in teams if t not in api.repo.teams
    ]
    if unknown:
        raise ApiError(
            422,
            "Reviews may only be requested from collaborators. One or more of the users or "
            f"teams you specified is not a collaborator of the {api.repo.full_name} repository.",
        )
    pull.requested_reviewers = list(dict.fromkeys([*pull.requested_reviewers, *users]))
    pull.requested_teams = list(dict.fromkeys([*pull.requested_teams, *teams]))
    return Response(201, api.out(req).pull(pull, full=False))
