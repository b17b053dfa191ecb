"""The exception tree. A user mistake is an IncidentOpsError and becomes a one-line
message with exit code 2; anything else is a bug and keeps its traceback."""


class IncidentOpsError(Exception):
    """A problem the user can fix; the message says what and where."""

    exit_code = 2


class ConfigError(IncidentOpsError):
    """`incident-ops.yml` (or another input file) is not usable."""


class ScenarioError(IncidentOpsError):
    """A scenario folder is missing a file or holds an invalid one."""


class ForgeError(IncidentOpsError):
    """The forge (GitHub or the local repository) refused or failed an operation."""

    exit_code = 3


class PublishBlocked(IncidentOpsError):
    """An artifact still looked like it carried a secret after redaction: not published."""

    exit_code = 4


class NotAuthorised(IncidentOpsError):
    """The actor may not trigger incident-ops on this repository."""
