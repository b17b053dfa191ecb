"""The smallest GraphQL endpoint that answers the two mutations the forge may send.

OUTSIDE THE VALIDATED SUBSET: GitHub's REST API cannot change a pull request's draft flag;
only GraphQL can (`markPullRequestReadyForReview`, `convertPullRequestToDraft`, both in
GitHub's public GraphQL reference). The double accepts exactly those two, looked up by the
pull request's `node_id`, with GitHub's GraphQL conventions: HTTP 200 whatever happens,
problems listed under `errors` with a `type`. Any other query is answered with an error,
so a forge that starts relying on more GraphQL fails here first.
"""

from __future__ import annotations

import re
from typing import Any

from tests.github_double.payloads import node_id
from tests.github_double.state import PullRequest, Repository

GRAPHQL_PATH = "/graphql"
DRAFT_AFTER = {"markPullRequestReadyForReview": False, "convertPullRequestToDraft": True}
_MUTATION = re.compile(r"\bmutation\b[^{]*\{\s*(\w+)\s*\(")


def answer_graphql(repo: Repository, login: str, request: dict[str, Any]) -> dict[str, Any]:
    query = str(request.get("query") or "")
    found = _MUTATION.search(query)
    name = found.group(1) if found else None
    if name not in DRAFT_AFTER:
        return _error(None, "UNSUPPORTED", f"the double answers only {', '.join(DRAFT_AFTER)}")
    assert name is not None
    variables = request.get("variables") or {}
    given = (variables.get("input") or {}) if isinstance(variables, dict) else {}
    pull = _pull_by_node(repo, str(given.get("pullRequestId") or ""))
    if pull is None:
        message = (
            f"Could not resolve to a node with the global id of '{given.get('pullRequestId')}'"
        )
        return _error(name, "NOT_FOUND", message)
    if not repo.can_push(login):
        return _error(name, "FORBIDDEN", "Resource not accessible by integration")
    if repo.issues[pull.number].state != "open":
        return _error(name, "UNPROCESSABLE", "Pull request is closed")
    pull.draft = DRAFT_AFTER[name]
    result = {
        "clientMutationId": given.get("clientMutationId"),
        "pullRequest": {"isDraft": pull.draft},
    }
    return {"data": {name: result}}


def _pull_by_node(repo: Repository, node: str) -> PullRequest | None:
    return next((p for p in repo.pulls.values() if node_id("PullRequest", p.id) == node), None)


def _error(name: str | None, kind: str, message: str) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message, "locations": []}
    if name is None:
        return {"errors": [error]}
    return {"data": {name: None}, "errors": [{**error, "path": [name]}]}
