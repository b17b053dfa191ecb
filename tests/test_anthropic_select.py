"""Choosing the backend, and never paying for the anthropic import on the offline path."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from incident_ops.agents.anthropic import AnthropicBackend
from incident_ops.agents.offline import OfflineBackend
from incident_ops.agents.select import OFFLINE_NOTICE, select_backend
from incident_ops.config import Config, Models
from incident_ops.errors import IncidentOpsError
from incident_ops.forge.local import LocalForge
from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble
from tests.conftest import SCENARIOS
from tests.helpers import run_cli


def test_without_a_key_the_offline_analysis_answers_with_a_notice() -> None:
    backend, notice = select_backend(None, Config(), {})
    assert isinstance(backend, OfflineBackend)
    assert notice == OFFLINE_NOTICE and "ANTHROPIC_API_KEY" in notice and "\n" not in notice


def test_with_a_key_claude_answers_through_anthropic_base_url(
    messages_double: MessagesDouble, anthropic_env: dict[str, str]
) -> None:
    config = Config(models=Models(timeout_s=7.0, max_retries=4))
    backend, notice = select_backend(None, config, anthropic_env)
    assert isinstance(backend, AnthropicBackend) and notice is None
    assert backend.early_requests()  # the first request goes before the SDK is ready
    client = backend.sdk()
    assert str(client.base_url).rstrip("/") == messages_double.base_url
    assert client.timeout == 7.0 and client.max_retries == 4


def test_an_explicit_choice_wins() -> None:
    backend, notice = select_backend("offline", Config(), {"ANTHROPIC_API_KEY": "k"})
    assert isinstance(backend, OfflineBackend) and notice is None
    with pytest.raises(IncidentOpsError, match="unknown backend 'gpt'"):
        select_backend("gpt", Config(), {})


def test_asking_for_claude_without_any_credential_is_a_user_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path))
    with pytest.raises(IncidentOpsError, match="ANTHROPIC_API_KEY"):
        select_backend("anthropic", Config(), {})


def _modules_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return set(done.stdout.split())


def test_the_offline_path_never_imports_anthropic() -> None:
    loaded = _modules_after(
        "from incident_ops.agents.select import select_backend\n"
        "from incident_ops.config import Config\n"
        "backend, _ = select_backend(None, Config(), {})\n"
        "import incident_ops.cli, incident_ops.pipeline, incident_ops.usecases.respond"
    )
    assert "incident_ops.agents.select" in loaded and "incident_ops.cli" in loaded
    assert "anthropic" not in loaded


def test_incident_ops_help_never_imports_anthropic() -> None:
    loaded = _modules_after(
        "import contextlib, io, incident_ops.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    incident_ops.cli.main(['--help'])"
    )
    assert "incident_ops.cli" in loaded and "anthropic" not in loaded


def test_choosing_claude_loads_its_backend_but_not_yet_the_sdk() -> None:
    # The SDK's import costs more than everything else before the first request: it is
    # imported while that request waits for its answer.
    loaded = _modules_after(
        "from incident_ops.agents.select import select_backend\n"
        "from incident_ops.config import Config\n"
        "backend, _ = select_backend(None, Config(), {'ANTHROPIC_API_KEY': 'k'})\n"
        "assert not backend.sdk_ready()"
    )
    assert "incident_ops.agents.anthropic" in loaded
    assert "anthropic" not in loaded


def test_a_missing_sdk_is_a_clear_message_not_an_import_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "anthropic" else real(name)
    )
    with pytest.raises(IncidentOpsError, match="anthropic package is not installed"):
        select_backend(None, Config(), {"ANTHROPIC_API_KEY": "k"})


def test_the_cli_uses_claude_when_a_key_is_set_and_honours_anthropic_base_url(
    messages_double: MessagesDouble, tmp_path: Path
) -> None:
    scenario = SCENARIOS / "09-confirmation-email-typo"
    if not scenario.is_dir():
        pytest.skip(f"{scenario} is not present")
    env = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": messages_double.base_url}
    done = run_cli("replay", str(scenario), "--json", "--workdir", str(tmp_path), env=env)
    assert done.returncode == 0, done.stderr
    assert OFFLINE_NOTICE not in done.stderr
    answered = messages_double.message_requests()
    assert len(answered) == len(messages_double.requests) == 13
    out = json.loads(done.stdout)
    path = next(f for f in out["files"] if f.endswith("/incident.yaml"))
    record = yaml.safe_load(LocalForge(tmp_path / "repo").read_file(out["branch"], path) or "")
    assert {state["backend"] for state in record["phases"].values()} == {"anthropic"}
    assert record["usage"]["requests"] == 13 and record["usage"]["cost_usd"] > 0
