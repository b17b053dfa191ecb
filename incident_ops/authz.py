"""Who may trigger incident-ops: a person the repository trusts, never a bot.

Issue forms apply the incident label for anyone who files them, so the label alone
proves nothing. Before any model call or write, the actor must hold at least the
configured permission on the repository (collaborator permission; default `triage`, so
support staff the repository trusts can declare an incident while read-only users and
outsiders cannot) or be named in `triggers.allowed_users`. Bots, the workflow's own
account included, are ignored rather than refused: they get no reply.
"""

from __future__ import annotations

from incident_ops.config import PERMISSION_RANK, Config
from incident_ops.forge.base import Comment, Forge
from incident_ops.markers import opens_with_marker

WORKFLOW_ACCOUNT = "github-actions[bot]"
DECLINED_MARKER = "<!-- incident-ops:declined -->"


def is_bot(login: str, user_type: str | None = None) -> bool:
    """Apps and the workflow's own token act as `<name>[bot]` with user type Bot."""
    return login.lower().endswith("[bot]") or (user_type or "").lower() == "bot"


def is_authorised(forge: Forge, config: Config, login: str, user_type: str | None = None) -> bool:
    """May `login` start or steer an incident here? Bots never may."""
    if not login or is_bot(login, user_type) or login.lower() == WORKFLOW_ACCOUNT:
        return False
    if login.lower() in {user.lower() for user in config.triggers.allowed_users}:
        return True
    rank = PERMISSION_RANK.get(forge.permission(login), 0)
    return rank >= PERMISSION_RANK[config.triggers.min_permission]


def decline_politely(forge: Forge, issue: int, login: str, config: Config) -> bool:
    """Tell an unauthorised person once per issue why nothing happened.

    Found again by its marker, so repeated or replayed events never add a second reply.
    Only a notice the bot wrote counts: comment text is untrusted, and an outsider who
    pastes or quotes the marker must not silence the notice. The login is quoted, not
    @-mentioned, so the reply pings nobody. True when posted.
    """
    if any(_is_our_notice(comment) for comment in forge.list_comments(issue)):
        return False
    needed = config.triggers.min_permission
    body = (
        f"{DECLINED_MARKER}\n"
        f"Thanks for the report. incident-ops did not start for `{login}`: declaring or "
        f"steering an incident here needs at least **{needed}** permission on this "
        "repository (or a place in `triggers.allowed_users` in `incident-ops.yml`).\n\n"
        "A maintainer can start it by removing and re-adding the "
        f"`{config.labels.incident}` label, or by running the incident workflow by hand "
        "with this issue's number."
    )
    forge.post_comment(issue, body)
    return True


def _is_our_notice(comment: Comment) -> bool:
    """A decline notice incident-ops posted: opening with the marker, by a bot account
    (the workflow's token or an app's; the local forge flags its own actor as one). The
    shipped workflows run it with the workflow's token, which is such an account."""
    return comment.author_is_bot and opens_with_marker(comment.body, DECLINED_MARKER)
