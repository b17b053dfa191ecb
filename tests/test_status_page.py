"""`incident-ops status-page`: a public page and feed built only from what the
communications phase marked public, checked as data and opened in headless Chromium."""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from incident_ops.status_page import build_status_page, write_status_page
from tests.conftest import DEMO, ROOT
from tests.helpers import run_cli

EXAMPLE = next((ROOT / "incidents").glob("*/incident.yaml")).parent
NOW = datetime(2026, 5, 12, 10, 30, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"

PUBLIC_UPDATE = "We are investigating errors when booking; some bookings fail. Next update 10:30."
RESOLVED_UPDATE = "The earlier search slowness is resolved."
# Planted in every field the communications phase keeps internal: none may ever show.
INTERNAL = "INTERNAL-ONLY-7f3a"
HELD_BACK = "HELD-BACK-2c91"
HOSTILE_TITLE = "<script>alert('x')</script> Bookings & quotes"


def make_incident(
    repo: Path,
    number: int,
    *,
    title: str,
    status: str,
    severity: str,
    services: list[str],
    update: str,
    publish: bool = True,
) -> None:
    record = yaml.safe_load((EXAMPLE / "incident.yaml").read_text(encoding="utf-8"))
    results = json.loads((EXAMPLE / "results.json").read_text(encoding="utf-8"))
    record_id = f"2026-05-12-{number}-case"
    record.update(id=record_id, issue=number, title=title, status=status, severity=severity)
    record["services"] = services
    record["root_cause"]["summary"] = f"{INTERNAL} root cause detail"
    if status != "resolved":
        record["timestamps"]["resolved"] = None
    comms = results["communications"]
    comms.update(
        status_page=update,
        publish_status_page=publish,
        status_page_state="resolved" if status == "resolved" else "investigating",
        internal_update=f"{INTERNAL} internal update",
        executive_summary=f"{INTERNAL} executive summary",
        support_briefing=f"{INTERNAL} support briefing",
        headline=f"{INTERNAL} headline",
    )
    comms["can"]["conditions"] = [f"{INTERNAL} conditions"]
    results["root-cause"]["summary"] = f"{INTERNAL} cause"
    folder = repo / "incidents" / record_id
    folder.mkdir(parents=True)
    (folder / "incident.yaml").write_text(yaml.safe_dump(record), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(DEMO / "incident-ops.yml", tmp_path / "incident-ops.yml")
    make_incident(
        tmp_path,
        1,
        title=HOSTILE_TITLE,
        status="investigating",
        severity="P1",
        services=["booking-api", "pricing-service"],
        update=PUBLIC_UPDATE,
    )
    make_incident(
        tmp_path,
        2,
        title="Search was slow",
        status="resolved",
        severity="P2",
        services=["web-app"],
        update=RESOLVED_UPDATE,
    )
    make_incident(
        tmp_path,
        3,
        title=f"{HELD_BACK} suspicious logins",
        status="investigating",
        severity="P0",
        services=["unlock-service"],
        update=f"{HELD_BACK} update",
        publish=False,
    )
    return tmp_path


@pytest.fixture
def site(repo: Path, tmp_path: Path) -> Path:
    out = tmp_path / "site"
    write_status_page(repo, out, title="Pedal & Co status", now=NOW)
    return out


def test_states_come_from_public_active_incidents(repo: Path) -> None:
    page = build_status_page(repo, now=NOW)
    states = {s.name: s.state for s in page.services}
    # Catalog services by their public names; third parties (payments) are not listed.
    assert states == {
        "Booking": "outage",
        "Pricing": "outage",
        "Website": "operational",  # its incident is resolved
        "Unlock": "operational",  # its incident was held back: not public
        "Fleet database": "operational",
    }
    assert page.overall == "outage"
    assert [i.title for i in page.active] == [HOSTILE_TITLE]
    assert [i.title for i in page.history] == ["Search was slow"]
    assert page.active[0].updates[0].text == PUBLIC_UPDATE


def test_a_mitigated_incident_shows_as_degraded(repo: Path) -> None:
    path = repo / "incidents" / "2026-05-12-1-case" / "incident.yaml"
    path.write_text(path.read_text().replace("status: investigating", "status: mitigated"))
    page = build_status_page(repo, now=NOW)
    assert {s.name: s.state for s in page.services}["Booking"] == "degraded"


def test_results_are_read_from_the_records_own_folder(repo: Path) -> None:
    # A record's id is data: it must not point the page at another folder's results.
    path = repo / "incidents" / "2026-05-12-1-case" / "incident.yaml"
    text = path.read_text().replace("id: 2026-05-12-1-case", "id: ../2026-05-12-3-case")
    path.write_text(text)
    page = build_status_page(repo, now=NOW)
    assert [u.text for i in page.active for u in i.updates] == [PUBLIC_UPDATE]


def test_nothing_internal_or_held_back_reaches_the_site(site: Path) -> None:
    for path in site.iterdir():
        text = path.read_text(encoding="utf-8")
        assert INTERNAL not in text and HELD_BACK not in text, path.name
    html = (site / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Pedal &amp; Co status" in html


def test_the_feed_is_atom_with_one_entry_per_public_incident(site: Path) -> None:
    feed = ET.parse(site / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "Pedal & Co status"
    for required in ("id", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}summary") for e in entries] == [PUBLIC_UPDATE, RESOLVED_UPDATE]
    assert entries[0].findtext(f"{ATOM}title") == f"{HOSTILE_TITLE} (Investigating)"
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == 2
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href", "").startswith("index.html#incident-")


def test_the_cli_writes_the_site(repo: Path, tmp_path: Path) -> None:
    done = run_cli("status-page", "--out", str(tmp_path / "out"), "--path", str(repo))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["feed.xml", "index.html"]


def test_the_example_repository_has_a_page_with_no_active_incident(tmp_path: Path) -> None:
    done = run_cli("status-page", "--out", str(tmp_path), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "All systems operational" in html and "Bookings failing at the quote step" in html


# --- in a real browser -----------------------------------------------------------------

PAGE_FACTS = """(() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    const c = [r, g, b].map((v) => linear(v / 255));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const active = 'section[aria-labelledby=active-incidents]';
  const lowContrast = [];
  for (const el of document.body.querySelectorAll('*')) {
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!ownText || box.width === 0 || box.right < 0) continue;
    const [a, b] = [luminance(rgb(getComputedStyle(el).color)), luminance(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) lowContrast.push(el.tagName + ': ' + ratio.toFixed(2));
  }
  return {
    lang: document.documentElement.lang,
    title: document.title,
    headings: [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map((h) => Number(h.tagName[1])),
    landmarks: ['header', 'main', 'footer'].filter((t) => document.querySelector(t)),
    scripts: document.scripts.length,
    text: document.body.innerText,
    activeIncident: document.querySelector(`${active} article h3`)?.innerText,
    latestUpdate: document.querySelector(`${active} .updates li:first-child`)?.innerText,
    lowContrast,
  };
})()"""


def test_the_page_in_headless_chromium(site: Path, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as browser:
        facts, problems, requests = browser.open((site / "index.html").as_uri(), PAGE_FACTS)
    assert problems == [], "console errors or failed loads"
    assert requests == [(site / "index.html").as_uri()], "the page loads nothing else"
    assert facts["lang"] == "en" and facts["title"] == "Pedal & Co status"
    headings = facts["headings"]
    assert headings[0] == 1 and headings.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(headings)), headings
    assert facts["landmarks"] == ["header", "main", "footer"]
    assert facts["scripts"] == 0 and facts["lowContrast"] == []
    assert facts["activeIncident"] == HOSTILE_TITLE  # shown as text, not run
    assert PUBLIC_UPDATE in facts["latestUpdate"] and "Investigating" in facts["latestUpdate"]
    assert "Booking\nOutage" in facts["text"] or "Booking Outage" in facts["text"]
    assert INTERNAL not in facts["text"] and HELD_BACK not in facts["text"]


# --- a small DevTools-protocol client: enough to load a page and read what happened -------


def chromium_binary() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("INCIDENT_OPS_REQUIRE_BROWSER") == "1":
        pytest.fail(
            "chromium is required (INCIDENT_OPS_REQUIRE_BROWSER=1): apt-get install chromium"
        )
    return found


class chromium:  # lower case: used as a context manager, like open()
    def __init__(self, profile: Path) -> None:
        binary = chromium_binary()
        if binary is None:
            pytest.skip("chromium is not installed (apt-get install chromium)")
        profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.port = self._port(profile / "DevToolsActivePort")

    def __enter__(self) -> chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def _port(self, active_port: Path) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if active_port.is_file() and active_port.read_text().strip():
                return int(active_port.read_text().split()[0])
            if self.process.poll() is not None:
                pytest.fail(f"chromium exited with {self.process.returncode}")
            time.sleep(0.1)
        self.__exit__()
        pytest.fail("chromium did not open its DevTools port in 30 s")

    def open(self, url: str, expression: str) -> tuple[dict[str, Any], list[str], list[str]]:
        """Load `url`; return the value of `expression`, the console errors and failed
        loads, and every URL the page requested."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get("type") == "page")
        with DevTools(page["webSocketDebuggerUrl"]) as tools:
            for domain in ("Runtime", "Log", "Network", "Page"):
                tools.call(f"{domain}.enable")
            tools.call("Page.navigate", url=url)
            tools.wait_for("Page.loadEventFired")
            result = tools.call("Runtime.evaluate", expression=expression, returnByValue=True)
            tools.call("Runtime.evaluate", expression="1")  # drain late console events
        problems = [_problem(e) for e in tools.events if _problem(e)]
        requests = [
            e["params"]["request"]["url"]
            for e in tools.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        return result["result"]["value"], problems, requests


def _problem(event: dict[str, Any]) -> str:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        return f"exception: {params['exceptionDetails'].get('text')}"
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        return f"console.{params['type']}: {params.get('args')}"
    if method == "Log.entryAdded" and params["entry"].get("level") == "error":
        return f"log: {params['entry'].get('text')}"
    if method == "Network.loadingFailed":
        return f"failed load: {params.get('errorText')}"
    return ""


class DevTools:
    """JSON messages over a WebSocket (RFC 6455: text frames, client frames masked)."""

    def __init__(self, ws_url: str) -> None:
        address = urlparse(ws_url)
        host, port = address.hostname or "127.0.0.1", address.port or 80
        self.sock = socket.create_connection((host, port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {address.path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._receive_some()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.split(b" ")[1] == b"101", head
        self.events: list[dict[str, Any]] = []
        self.last_id = 0

    def __enter__(self) -> DevTools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        self._send(json.dumps({"id": self.last_id, "method": method, "params": params}).encode())
        while True:
            message = self._message()
            if message.get("id") == self.last_id:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        while True:
            message = self._message()
            self.events.append(message)
            if message.get("method") == method:
                return

    def _send(self, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = bytes([0x81, 0x80 | size])
        elif size < 1 << 16:
            header = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
        else:
            header = bytes([0x81, 0x80 | 127]) + size.to_bytes(8, "big")
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _message(self) -> dict[str, Any]:
        data = b""
        while True:
            first, second = self._exactly(2)
            size = second & 0x7F
            if size == 126:
                size = int.from_bytes(self._exactly(2), "big")
            elif size == 127:
                size = int.from_bytes(self._exactly(8), "big")
            payload = self._exactly(size)  # frames from the server are not masked
            if first & 0x0F == 0x8:
                raise ConnectionError("DevTools closed the connection")
            if first & 0x0F in (0x1, 0x0):
                data += payload
                if first & 0x80:
                    message: dict[str, Any] = json.loads(data)
                    return message

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.buffer += self._receive_some()
        chunk, self.buffer = self.buffer[:size], self.buffer[size:]
        return chunk

    def _receive_some(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("DevTools closed the connection")
        return chunk
