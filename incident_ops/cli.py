"""The `incident-ops` command line.

Exit codes: 0 success; 1 an unexpected error (a bug: please report it with the
traceback); 2 a usage or input problem (the message says which file or field); 3 the
forge failed; 4 an artifact was withheld because it still looked like a secret; 5 a
quality gate failed (validate, eval thresholds).

Heavy modules are imported inside the command that needs them, so `--help` stays fast
and the offline path never imports the anthropic SDK.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from incident_ops import __version__
from incident_ops.errors import IncidentOpsError

EXIT_HELP = """exit codes:
  0  success
  1  unexpected error (a bug: report it with the traceback)
  2  bad input or usage: the message names the file, line or field
  3  the forge (GitHub or the local repository) failed
  4  an artifact was withheld: it still looked like a secret after redaction
  5  a quality gate failed
"""


def _progress(quiet: bool) -> Any:
    if quiet:
        return lambda message: None
    return lambda message: print(message, file=sys.stderr, flush=True)


def _backend(name: str | None, config: Any) -> Any:
    """The backend; one with an SDK imports it only once its first request has left."""
    from incident_ops.agents.select import select_backend

    backend, notice = select_backend(name, config, os.environ)
    if notice:
        print(notice, file=sys.stderr)
    return backend


def cmd_replay(args: argparse.Namespace) -> int:
    from incident_ops.config import Config, parse_config
    from incident_ops.scenario import load_scenario
    from incident_ops.usecases.replay import outcome_json, replay

    scenario = load_scenario(Path(args.scenario))
    config = (
        parse_config(scenario.config_text, str(scenario.path / "incident-ops.yml"))
        if scenario.config_text is not None
        else Config()
    )
    workdir = Path(args.workdir).resolve() if args.workdir else None
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    outcome = replay(
        scenario,
        workdir=workdir,
        backend=_backend(args.backend, config),
        progress=_progress(args.json or args.quiet),
    )
    payload = outcome_json(outcome)
    if args.score:
        payload["score"] = _score(scenario.path, payload)
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        _print_summary(payload)
    return 0


def _score(folder: Path, payload: dict[str, Any]) -> dict[str, Any] | None:
    import yaml

    expected_path = folder / "expected.yaml"
    if not expected_path.is_file():
        print(f"{expected_path}: missing, nothing to score against", file=sys.stderr)
        return None
    from incident_ops.scoring import format_table, score_result

    expected = yaml.safe_load(expected_path.read_text(encoding="utf-8")) or {}
    score = score_result(payload["incident"], expected)
    print(format_table([score]), file=sys.stderr)
    return score.model_dump() if hasattr(score, "model_dump") else dict(vars(score))


def _print_summary(payload: dict[str, Any]) -> None:
    incident = payload["incident"]
    root = incident["root_cause"]
    pr = payload["pull_request"]
    lines = [
        "",
        f"Incident #{incident['issue']}: {incident['severity']} {incident['type']}"
        f" ({incident['status']})",
        f"  services:    {', '.join(incident['services']) or 'not identified'}",
        f"  root cause:  {root['service'] or 'insufficient evidence'}"
        + (f" ({root['confidence']:.0%})" if root["service"] else ""),
        f"  action items: {len(incident['action_items'])}",
        f"  pull request: #{pr['number']} {pr['title']}" if pr else "  pull request: none",
        f"  repository:  {payload['repository']}",
        f"  branch:      {payload['branch']} ({len(payload['files'])} files)",
        "",
        "Look around:",
        f"  git -C {payload['repository']} log --oneline {payload['branch']}",
        f"  git -C {payload['repository']} show {payload['branch']}:"
        + next((f for f in payload["files"] if f.endswith("/postmortem.md")), "incidents/"),
        f"  ls {payload['repository']}/.incident-ops/   # issue, comments and pull request",
    ]
    print("\n".join(lines))


def cmd_demo(args: argparse.Namespace) -> int:
    from incident_ops.scenario import load_scenario
    from incident_ops.usecases.replay import outcome_json, replay

    folder = Path(__file__).resolve().parent / "scenarios" / "demo"
    scenario = load_scenario(folder)
    print(f"incident-ops demo: replaying the bundled scenario '{scenario.meta.title}'")
    print("(offline backend, local repository: no keys, no network)\n")
    from incident_ops.agents.offline import OfflineBackend

    outcome = replay(
        scenario,
        workdir=Path(args.workdir).resolve() if args.workdir else None,
        backend=OfflineBackend(),
        progress=_progress(False),
    )
    _print_summary(outcome_json(outcome))
    return 0


def _forge(args: argparse.Namespace) -> tuple[Any, Path | None, Path]:
    """The forge the arguments name, its result cache, and the templates override folder."""
    if args.local or not args.repo:
        from incident_ops.forge.local import LocalForge

        path = Path(args.path).resolve()
        if not (path / ".git").exists():
            raise IncidentOpsError(f"{path}: not a git repository (use --path DIR)")
        return LocalForge(path), path / ".incident-ops" / "cache", path / "templates"
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise IncidentOpsError("GITHUB_TOKEN is not set: export a token to use --repo")
    from incident_ops.forge.github import GitHubForge

    forge: Any = GitHubForge(args.repo, token, base_url=os.environ.get("GITHUB_API_URL"))
    if args.dry_run:
        from incident_ops.forge.dry_run import DryRunForge

        forge = DryRunForge(forge)
    return forge, None, Path.cwd() / "templates"


def cmd_respond(args: argparse.Namespace) -> int:
    from incident_ops.usecases.respond import load_config, respond

    forge, cache, templates = _forge(args)
    config = load_config(forge)
    result = respond(
        forge,
        args.issue,
        backend=_backend(args.backend, config),
        progress=_progress(args.quiet),
        config=config,
        cache_dir=cache,
        templates_dir=templates,
    )
    incident = result.incident
    print(
        f"#{incident.issue}: {incident.severity} {incident.type} ({incident.status}); "
        f"{len(result.phases_run)} phases run, {len(result.phases_reused)} unchanged; "
        f"{len(result.commits)} commits; PR "
        + (f"#{result.pull_request.number}" if result.pull_request else "none")
    )
    return 4 if result.blocked else 0


def cmd_followup(args: argparse.Namespace) -> int:
    from incident_ops.usecases.followup import followup

    forge, _, _ = _forge(args)
    result = followup(forge, args.pr, progress=_progress(args.quiet))
    if result.skipped:
        print(f"nothing to do: {result.skipped}")
    else:
        print(f"{len(result.created)} action items now tracked as issues")
    return 0


def cmd_cadence(args: argparse.Namespace) -> int:
    from incident_ops.usecases.cadence import check_all
    from incident_ops.usecases.respond import load_config

    forge, cache, _ = _forge(args)
    config = load_config(forge)
    updated = check_all(
        forge,
        backend=_backend(args.backend, config),
        progress=_progress(args.quiet),
        config=config,
        cache_dir=cache,
    )
    print(f"stakeholder updates posted on: {', '.join(f'#{n}' for n in updated) or 'none'}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from incident_ops.config import Config
    from incident_ops.model import Incident

    model = Config if args.what == "config" else Incident
    print(json.dumps(model.model_json_schema(), indent=2))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import yaml

    from incident_ops.agents.offline import OfflineBackend
    from incident_ops.scenario import load_scenario
    from incident_ops.scoring import format_table, score_result
    from incident_ops.usecases.replay import outcome_json, replay

    scores = []
    for folder in sorted(Path(args.folder).iterdir()):
        if not (folder / "scenario.yaml").is_file() or not (folder / "expected.yaml").is_file():
            continue
        outcome = replay(load_scenario(folder), backend=OfflineBackend())
        expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8")) or {}
        result = outcome_json(outcome)["incident"]
        scores.append(score_result(result, expected, name=folder.name))
    if not scores:
        raise IncidentOpsError(f"{args.folder}: no scenario with expected.yaml found")
    print(format_table(scores))
    return 0


def cmd_action(args: argparse.Namespace) -> int:
    from incident_ops.action import run_action

    code = run_action(os.environ)
    # Everything is written and every worker joined by now; tearing down the interpreter's
    # modules (the SDKs) would add about half a second to every Actions run for nothing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_init(args: argparse.Namespace) -> int:
    from incident_ops.usecases.init import scaffold

    written = scaffold(Path(args.dir), force=args.force)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("nothing to write: every file already exists (use --force to overwrite)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from incident_ops.validate import validate_paths

    if args.changed_since:
        from incident_ops.incident_branches import changed_incident_folders

        if args.paths:
            raise IncidentOpsError("validate: give PATHs or --changed-since, not both")
        folders = changed_incident_folders(Path("."), args.changed_since)
        if not folders:
            print("validate: no incident folder changed that still exists; nothing to check")
            return 0
        result = validate_paths(folders)
    else:
        result = validate_paths([Path(p) for p in args.paths or ["incidents"]])
    annotate = os.environ.get("GITHUB_ACTIONS") == "true"
    for finding in result.findings:
        print(finding.text())
        if annotate:
            print(finding.annotation())
    warnings = len(result.findings) - result.errors
    counts = [(len(result.files), "file"), (result.errors, "error"), (warnings, "warning")]
    print(
        "validate: " + ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts),
        file=sys.stderr,
    )
    return result.exit_code


def _date_argument(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def cmd_report(args: argparse.Namespace) -> int:
    from incident_ops.report import as_json, build_report
    from incident_ops.report_markdown import render_markdown

    data = as_json(build_report(Path(args.path), since=args.since))
    for skipped in data["skipped"]:
        print(f"{skipped['path']}: skipped: {skipped['reason']}", file=sys.stderr)
    print(json.dumps(data, indent=2) if args.json else render_markdown(data), end="\n")
    return 0


def cmd_status_page(args: argparse.Namespace) -> int:
    from incident_ops.status_page import write_status_page

    def build(source: Path) -> None:
        out = Path(args.out)
        for path in write_status_page(source, out, title=args.title, base_url=args.base_url):
            print(f"wrote {path}")

    if not args.all_branches:
        build(Path(args.path))
        return 0
    import tempfile

    from incident_ops.incident_branches import gather_incidents

    with tempfile.TemporaryDirectory(prefix="incident-ops-status-") as gathered:
        for ref in gather_incidents(Path(args.path), Path(gathered)):
            print(f"read {ref}", file=sys.stderr)
        build(Path(gathered))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="incident-ops",
        description="Incident response as code: work an incident issue through triage, "
        "investigation, resolution, communication and learning.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"incident-ops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXIT_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    backend_help = "anthropic or offline (default: anthropic when ANTHROPIC_API_KEY is set)"

    demo = add("demo", "Replay the bundled scenario offline and show what it produced.")
    demo.add_argument("--workdir", help="Build the demo repository here (default: a temp dir).")
    demo.set_defaults(func=cmd_demo)

    rep = add("replay", "Replay a scenario folder in a fresh local repository.")
    rep.add_argument("scenario", metavar="SCENARIO_DIR")
    rep.add_argument("--json", action="store_true", help="Print the result as JSON.")
    rep.add_argument("--workdir", help="Build the repository in DIR/repo (kept).")
    rep.add_argument("--backend", choices=["anthropic", "offline"], help=backend_help)
    rep.add_argument("--score", action="store_true", help="Score against expected.yaml.")
    rep.add_argument("--quiet", action="store_true", help="No progress output.")
    rep.set_defaults(func=cmd_replay)

    def add_forge_options(command: argparse.ArgumentParser) -> None:
        where = command.add_mutually_exclusive_group()
        where.add_argument("--repo", metavar="OWNER/NAME", help="GitHub repository (GITHUB_TOKEN).")
        where.add_argument("--local", action="store_true", help="Use a local git repository.")
        command.add_argument("--path", default=".", help="The local repository (with --local).")
        command.add_argument(
            "--dry-run", action="store_true", help="Print writes instead (--repo)."
        )
        command.add_argument("--quiet", action="store_true", help="No progress output.")

    res = add("respond", "Work an incident issue on GitHub (--repo) or a local repository.")
    res.add_argument("issue", type=int, metavar="ISSUE")
    add_forge_options(res)
    res.add_argument("--backend", choices=["anthropic", "offline"], help=backend_help)
    res.set_defaults(func=cmd_respond)

    fol = add("followup", "Turn a merged postmortem's action items into tracked issues.")
    fol.add_argument("pr", type=int, metavar="PR")
    add_forge_options(fol)
    fol.set_defaults(func=cmd_followup)

    cad = add("cadence", "Post the stakeholder updates that are due on every open incident.")
    add_forge_options(cad)
    cad.add_argument("--backend", choices=["anthropic", "offline"], help=backend_help)
    cad.set_defaults(func=cmd_cadence)

    sch = add("schema", "Print the JSON Schema of the configuration or the incident record.")
    sch.add_argument("what", choices=["config", "incident"])
    sch.set_defaults(func=cmd_schema)

    ev = add("eval", "Replay every scenario in a folder and print accuracy scores.")
    ev.add_argument("folder", metavar="DIR")
    ev.set_defaults(func=cmd_eval)

    act = add("action", "The GitHub Actions entry point (reads GITHUB_* variables).")
    act.set_defaults(func=cmd_action)

    ini = add("init", "Scaffold workflows, the issue form and a starter config into DIR.")
    ini.add_argument("dir", nargs="?", default=".", metavar="DIR")
    ini.add_argument("--force", action="store_true", help="Overwrite existing files.")
    ini.set_defaults(func=cmd_init)

    val = add(
        "validate",
        "Check incident records against the schema and postmortems for completeness and "
        "blameless language (exit 5 on errors).",
    )
    val.add_argument("paths", nargs="*", metavar="PATH", help="Files or folders (incidents/).")
    val.add_argument(
        "--changed-since",
        metavar="BASE",
        help="Only the incident folders changed between BASE and HEAD (a pull request's check).",
    )
    val.set_defaults(func=cmd_validate)

    rpt = add("report", "Summarise every incident: counts, MTTA/MTTD/MTTR, action items, causes.")
    rpt.add_argument("--since", type=_date_argument, metavar="DATE", help="Only from DATE on.")
    rpt.add_argument("--json", action="store_true", help="Print JSON instead of markdown.")
    rpt.add_argument("--path", default=".", help="The repository or its incidents/ folder.")
    rpt.set_defaults(func=cmd_report)

    stp = add("status-page", "Build the public status page (index.html) and Atom feed.")
    stp.add_argument("--out", required=True, metavar="DIR", help="Write the site here.")
    stp.add_argument("--path", default=".", help="The repository or its incidents/ folder.")
    stp.add_argument("--title", default="Service status", help="The page's title.")
    stp.add_argument("--base-url", metavar="URL", help="Where the site is served (feed links).")
    stp.add_argument(
        "--all-branches",
        action="store_true",
        help="Also read live incidents from the origin/incident/* branches (--path: the checkout).",
    )
    stp.set_defaults(func=cmd_status_page)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except IncidentOpsError as exc:
        print(f"incident-ops: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("incident-ops: interrupted; what was committed is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
