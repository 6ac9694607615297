"""What every benchmark result records about where and how it was made.

A number without its machine, library versions, commit and command cannot be
compared with anything, so each benchmark script stores :func:`environment` next to
its measures and renders it with :func:`environment_markdown`.

Nothing here imports TensorFlow: versions are read from the installed package
metadata, so a benchmark's parent process stays light and its children are the only
ones that pay for (and are measured with) the heavy imports.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

# Distribution names; the first installed of each alternative group is reported.
PACKAGES: tuple[tuple[str, ...], ...] = (
    ("tensorflow", "tensorflow-cpu"),
    ("keras",),
    ("numpy",),
    ("datasets",),
    ("seqeval",),
    ("sklearn-crfsuite",),
    ("python-crfsuite",),
    ("slotfill",),
)


def machine() -> dict[str, Any]:
    """CPU model, core counts, total memory, OS and the load average when called."""
    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = cores
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "usable_cores": usable,
        "memory_gb": _memory_gb(),
        "os": platform.platform(),
        # The machine is shared: the load says how much the numbers may be disturbed.
        "load_average": load,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def versions(packages: Iterable[tuple[str, ...]] = PACKAGES) -> dict[str, str | None]:
    """Python and package versions, from metadata (no import); ``None`` when not installed."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for alternatives in packages:
        version = None
        for name in alternatives:
            try:
                version = importlib.metadata.version(name)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        found[alternatives[0]] = version
    return found


def git_state(repo: Path = REPO) -> dict[str, Any]:
    """The checked-out commit and whether the working tree differs from it (read-only)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                # --no-optional-locks: status must not refresh (write) the index.
                ["git", "--no-optional-locks", "-C", str(repo), *args],
                capture_output=True, text=True, timeout=30, check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": None if status is None else bool(status)}


def command(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The command line that produced a result, as given and as one shell-ready string."""
    args = list(sys.argv if argv is None else argv)
    return {"argv": args, "command": shlex.join(["python", *args]), "cwd": os.getcwd(),
            "python_executable": sys.executable}


def environment(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Machine, versions, git state, UTC date and command, in one JSON-ready dict."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "git": git_state(),
        "command": command(argv),
    }


def environment_markdown(env: dict[str, Any]) -> str:
    """The environment as a short Markdown section."""
    m, v, g = env["machine"], env["versions"], env["git"]
    commit = g.get("commit") or "unknown"
    if g.get("dirty"):
        commit += " (with uncommitted changes)"
    load = m.get("load_average")
    rows = [
        ("date (UTC)", env["date"]),
        ("command", f"`{env['command']['command']}`"),
        ("commit", commit),
        ("cpu", f"{m['cpu']}, {m['usable_cores']} usable of {m['cores']} cores"),
        ("memory", f"{m['memory_gb']} GB"),
        ("os", m["os"]),
        ("load average at start", ", ".join(map(str, load)) if load else "unknown"),
        ("versions", ", ".join(f"{k} {val}" for k, val in v.items() if val)),
    ]
    if env.get("jobs", 1) > 1:
        rows.append(("parallel jobs", f"{env['jobs']} trainings at once, TensorFlow threads "
                     "split between them"))
    lines = ["| | |", "|---|---|"] + [f"| {k} | {val} |" for k, val in rows]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary sibling, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=False) + "\n")
