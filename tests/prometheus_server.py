"""A private Prometheus server for tests: the Debian package's binaries, a free 127.0.0.1
port, and a clean stop. Tests skip without the binaries unless
INCIDENT_OPS_REQUIRE_PROMETHEUS=1 (as scripts/test.sh sets), which makes them fail."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def binaries() -> tuple[str, str]:
    """The `prometheus` and `promtool` executables."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus and promtool:
        return prometheus, promtool
    if os.environ.get("INCIDENT_OPS_REQUIRE_PROMETHEUS") == "1":
        pytest.fail("prometheus/promtool not installed but INCIDENT_OPS_REQUIRE_PROMETHEUS=1")
    pytest.skip("prometheus and promtool are not installed (Debian package 'prometheus')")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], deadline_s: float = 60.0) -> None:
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        if process.poll() is not None:
            raise AssertionError(f"prometheus exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("prometheus did not become ready in time")


@contextmanager
def running_prometheus(config: Path, data: Path, *extra_flags: str) -> Iterator[str]:
    """Serve `data` with `config` until the block ends; yields the server's base URL.
    Its log goes to prometheus.log beside the config, for a failing test's reader."""
    prometheus, _ = binaries()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (config.parent / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                *extra_flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            _wait_ready(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
