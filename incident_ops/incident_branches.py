"""Where a checkout's incident folders are, for the validate and status-page workflows.

A pull request's check validates only the incident folders it changes, and the status
page reads live incidents from their `incident/<n>` branches before their postmortems
merge. Both used to be shell in the workflows; here they are one tested place that the
repository's workflows and the ones `incident-ops init` writes share.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from incident_ops.config import CONFIG_FILE
from incident_ops.errors import IncidentOpsError

INCIDENTS = "incidents"
# Live incidents' branches as `actions/checkout` with fetch-depth 0 leaves them.
INCIDENT_REFS = "refs/remotes/origin/incident/"


def _git(repo: Path, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, check=False)
    except FileNotFoundError as error:
        raise IncidentOpsError("this needs the `git` command on PATH") from error
    if done.returncode not in ok:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise IncidentOpsError(f"git {args[0]} failed in {repo}: {message}")
    return done


def changed_incident_folders(repo: Path, base: str) -> list[Path]:
    """The incident folders changed between `base` and HEAD that still exist.

    Compares from the merge base (`base...HEAD`), as a pull request's diff does, so
    commits that landed on the base branch since are not counted as changes.
    """
    known = _git(repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", ok=(0, 1, 128))
    if known.returncode != 0:
        raise IncidentOpsError(
            f"--changed-since {base}: not a commit in {repo}; fetch the base branch "
            "(actions/checkout with fetch-depth: 0)"
        )
    listing = _git(repo, "diff", "--name-only", "-z", f"{base}...HEAD", "--", f"{INCIDENTS}/")
    folders: dict[Path, None] = {}
    for name in listing.stdout.decode("utf-8", "surrogateescape").split("\0"):
        parts = PurePosixPath(name).parts
        if len(parts) >= 3 and parts[0] == INCIDENTS:  # incidents/<id>/<file>
            folder = repo / parts[0] / parts[1]
            if folder.is_dir():
                folders[folder] = None
    return sorted(folders)


def gather_incidents(repo: Path, out: Path) -> list[str]:
    """Copy into `out` the incidents of every incident branch, then the checkout's own.

    The checkout (the default branch) comes last, so a merged incident's final record
    replaces its branch's copy. `incident-ops.yml` comes along for the service catalog.
    Returns the refs read. Archives are unpacked with tarfile's `data` filter, so an
    entry cannot land outside `out` or be a link or device.
    """
    out.mkdir(parents=True, exist_ok=True)
    listing = _git(repo, "for-each-ref", "--format=%(refname)", INCIDENT_REFS)
    refs = [line for line in listing.stdout.decode("utf-8", "replace").splitlines() if line]
    read = []
    for ref in refs:
        has_folder = _git(repo, "cat-file", "-e", f"{ref}:{INCIDENTS}", ok=(0, 1, 128))
        if has_folder.returncode != 0:
            continue
        archive = _git(repo, "archive", "--format=tar", ref, INCIDENTS).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(out, filter="data")
        read.append(ref)
    if (repo / INCIDENTS).is_dir():
        shutil.copytree(repo / INCIDENTS, out / INCIDENTS, dirs_exist_ok=True)
    if (repo / CONFIG_FILE).is_file():
        shutil.copyfile(repo / CONFIG_FILE, out / CONFIG_FILE)
    return read
