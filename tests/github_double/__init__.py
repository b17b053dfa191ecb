"""An HTTP double of GitHub's REST API for tests: a real server on 127.0.0.1 that the real
PyGithub talks to. It is a test double, not part of the product."""

from tests.github_double.server import Fault, GitHubDouble, LoggedRequest
from tests.github_double.state import Repository

__all__ = ["Fault", "GitHubDouble", "LoggedRequest", "Repository"]
