"""An HTTP double of the Anthropic Messages API for tests (see server.py)."""

from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble, RecordedRequest

__all__ = ["DEFAULT_API_KEY", "MessagesDouble", "RecordedRequest"]
