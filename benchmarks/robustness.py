"""The bad-input battery: odd text, broken files, broken models and bad options, through the
real CLI (``python cli.py ...`` as a subprocess), recording whether a traceback ever shows.

A user must never see a traceback: every case should end with a clear one-line message (or,
for odd but valid text, a normal answer). The script trains a tiny model into a temporary
folder first (``$SLOTFILL_MODELS`` points there, so nothing touches ``models/``), builds the
broken inputs beside it, runs every case, and writes a table to
``benchmarks/results/robustness.md``.

Usage::

    python benchmarks/robustness.py [--keep] [--only REGEX]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS, environment, environment_markdown, write_atomic

CLI = REPO / "cli.py"
TIMEOUT = 900  # seconds per case; training a tiny model on two busy cores takes about one minute
TRAIN_TINY = ("--epochs", "1", "--hidden", "8", "--embedding-dim", "8", "--quiet")
# Python's own traceback header, or the frames of a stack (TensorFlow's "in user code:" dumps
# have no header but list `File "...", line N` frames).
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|^\s*File "[^"]+", line \d+', re.M)
# TensorFlow / absl start-up chatter on stderr, which is not the CLI's message.
NOISE = re.compile(r"^(?:[IWE]\d{4} |WARNING: All log messages|To enable the following|"
                   r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] )")


@dataclass
class Case:
    """One bad input: CLI arguments and what a user should get.

    ``expect_ok``: True, exit 0 with an answer; False, a non-zero exit whose first line is an
    ``error:`` (ours, exit 1) or ``Error:`` (click's usage check, exit 2) message, never an
    "unexpected ..." one; None, either. ``bad_message``: a pattern the message must not match
    (a known unclear wording).
    """

    name: str
    args: list[str]
    expect_ok: bool | None = False
    stdin: bytes | None = None
    env: dict[str, str] = field(default_factory=dict)
    bad_message: str | None = None
    note: str = ""


@dataclass
class Outcome:
    name: str
    command: str
    exit_code: int | None
    expected: str
    as_expected: bool
    why_not: str
    message: str
    traceback: bool
    seconds: float
    note: str


def run_cli(args: list[str], env: dict[str, str], stdin: bytes | None = None,
            ) -> tuple[int | None, str, str, float]:
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, str(CLI), *args], cwd=REPO, env=env,
                              input=stdin if stdin is not None else b"", capture_output=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"").decode("utf-8", "replace")
        return None, out, f"timed out after {TIMEOUT} s", time.perf_counter() - started
    return (done.returncode, done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"), time.perf_counter() - started)


def first_message(stdout: str, stderr: str) -> str:
    """The line a user reads first: the error line if any, else the first line of output."""
    err_lines = [line for line in stderr.splitlines() if line.strip() and not NOISE.match(line)]
    for line in err_lines:
        if line.lower().startswith("error"):
            return line
    lines = err_lines + [line for line in stdout.splitlines() if line.strip()]
    return lines[0] if lines else "(no output)"


def short_command(args: list[str], tmp: Path) -> str:
    """The command as typed, with the temp folder as $T and long arguments abbreviated."""
    shown = []
    for arg in args:
        arg = arg.replace(str(tmp), "$T")
        if len(arg) > 40:
            arg = f"{arg[:12]}…({len(arg)} chars)"
        shown.append(_visible(shlex.quote(arg)))
    return "cli.py " + " ".join(shown)


def _visible(text: str) -> str:
    """Control characters and undecodable bytes (surrogates) as escapes; the rest as is."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in ("Cc", "Cs") else ch
        for ch in text
    )


# --- building the broken inputs ------------------------------------------------------------


def write_atis(root: Path, splits: dict[str, tuple[str, str, str | None]]) -> Path:
    for name, (seq_in, seq_out, label) in splits.items():
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "seq.in").write_text(seq_in, encoding="utf-8")
        (folder / "seq.out").write_text(seq_out, encoding="utf-8")
        if label is not None:
            (folder / "label").write_text(label, encoding="utf-8")
    return root


GOOD = ("fly to boston\nshow fares\n", "O O B-toloc.city_name\nO O\n", "flight\nairfare\n")


def make_datasets(tmp: Path) -> dict[str, Path]:
    d = tmp / "data"
    sets = {
        "count": write_atis(d / "count", {"train": (GOOD[0], "O O B-toloc.city_name\n", GOOD[2]),
                                          "test": GOOD}),
        "illegal": write_atis(d / "illegal", {"train": (GOOD[0], "O O X-city\nO O\n", GOOD[2]),
                                              "test": GOOD}),
        "utf8": write_atis(d / "utf8", {"train": GOOD, "test": GOOD}),
        "empty": write_atis(d / "empty", {"train": GOOD, "test": ("", "", "")}),
        "single": write_atis(d / "single", {"train": ("fly to boston\n", "O O B-city\n", None),
                                            "test": ("fly\n", "O\n", None)}),
        "missing": d / "nowhere",
        "conll": d / "conll",
        "cr_only": write_atis(d / "cr_only", {"train": GOOD, "test": GOOD}),
        "hash_labels": write_atis(d / "hash_labels", {"train": (*GOOD[:2], "#\n#\n"),
                                                      "test": GOOD}),
    }
    for name, text in zip(("seq.in", "seq.out", "label"), GOOD, strict=True):
        (sets["cr_only"] / "test" / name).write_text(text.replace("\n", "\r"))
    (sets["utf8"] / "test" / "seq.in").write_bytes(b"fly to boston\nshow f\xe4res\n")
    sets["conll"].mkdir(parents=True)
    (sets["conll"] / "train.txt").write_text("fly O\nto O\nboston B-city\n\nshow O\nfares O\n")
    (sets["conll"] / "test.txt").write_text("fly O\nto\nboston B-city\n")
    return sets


def make_models(tmp: Path, good: Path, no_chars: Path) -> dict[str, Path]:
    m = tmp / "bad-models"

    def copy(name: str, source: Path = good) -> Path:
        return Path(shutil.copytree(source, m / name,
                                    ignore=shutil.ignore_patterns("saved_model")))

    bad = {"missing": m / "nowhere"}
    bad["no_keras"] = copy("no_keras")
    (bad["no_keras"] / "model.keras").unlink()
    bad["random_bytes"] = copy("random_bytes")
    (bad["random_bytes"] / "model.keras").write_bytes(os.urandom(4096))
    bad["zip_not_model"] = copy("zip_not_model")
    with zipfile.ZipFile(bad["zip_not_model"] / "model.keras", "w") as archive:
        archive.writestr("hello.txt", "not a model")
    bad["words_extra"] = copy("words_extra")
    with open(bad["words_extra"] / "vocab" / "words.txt", "a", encoding="utf-8") as f:
        f.write("zzextra1\nzzextra2\n")
    bad["no_chars"] = copy("no_chars")
    (bad["no_chars"] / "vocab" / "chars.txt").unlink()
    bad["no_intents"] = copy("no_intents")
    (bad["no_intents"] / "vocab" / "intents.txt").unlink()
    bad["chars_extra"] = copy("chars_extra")
    with open(bad["chars_extra"] / "vocab" / "chars.txt", "a", encoding="utf-8") as f:
        f.write("ü\n€\n")
    bad["intents_extra"] = copy("intents_extra")
    with open(bad["intents_extra"] / "vocab" / "intents.txt", "a", encoding="utf-8") as f:
        f.write("zz_extra_intent\n")
    bad["stray_chars"] = copy("stray_chars", no_chars)
    shutil.copy(good / "vocab" / "chars.txt", bad["stray_chars"] / "vocab" / "chars.txt")
    bad["bad_config"] = copy("bad_config")
    (bad["bad_config"] / "config.json").write_text("{not json", encoding="utf-8")
    bad["own_folder"] = copy("own_folder")
    bad["a_file"] = m / "a_file"
    bad["a_file"].write_text("not a folder\n")
    bad["nan_weights"] = copy("nan_weights")
    poison_emissions(bad["nan_weights"] / "model.keras")
    return bad


def poison_emissions(path: Path) -> None:
    """Set the emission weights of a saved model to NaN: a structurally valid file."""
    import keras  # here, not at the top: the battery itself runs without TensorFlow
    import numpy as np

    import slotfill.layers  # noqa: F401  (registers the custom layers)

    model = keras.saving.load_model(path, compile=False)
    kernel = model.get_layer("emissions").kernel
    kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))
    model.save(path)


def make_text_files(tmp: Path) -> dict[str, Path]:
    t = tmp / "texts"
    t.mkdir()
    files = {
        "non_utf8": b"fly to boston\nfly to m\xfcnchen\n",
        "control": b"fly\x00 to\x07 den\x1bver\x7f\n\tfly\tto\tboston\t\n\x0c\x0b\n",
        "long_line": " ".join(["fly", "from", "boston", "to", "denver"] * 2000).encode(),
        "mixed": "fly 🛫 to 東京 then القاهرة\n!?.,;:()\n\n   \n".encode(),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = t / f"{name}.txt"
        paths[name].write_bytes(data)
    return paths


def cases(tmp: Path, model: Path, data: dict[str, Path], models: dict[str, Path],
          texts: dict[str, Path]) -> list[Case]:
    m = ["--model", str(model)]
    never = str(tmp / "never-written")
    blocked = tmp / "a-file-not-a-folder"
    blocked.write_text("x\n")
    taken = tmp / "existing-file.txt"
    taken.write_text("keep me\n")
    taken_too = tmp / "existing-file-2.txt"
    taken_too.write_text("keep me too\n")
    users_folder = tmp / "notes"
    users_folder.mkdir()
    (users_folder / "todo.txt").write_text("keep me as well\n")
    damaged = tmp / "models" / "damaged"  # an interrupted run whose state file was cut short
    (tmp / "models" / ".damaged.checkpoint").mkdir(parents=True)
    (tmp / "models" / ".damaged.checkpoint" / "state.json").write_text('{"epoch": 1}\n')
    return [
        # Text a person types.
        Case("empty text", ["tag", *m, ""], note="nothing to tag: exit 1 by design"),
        Case("whitespace only", ["tag", *m, " \t \u3000 "], note="nothing to tag"),
        Case("emoji", ["tag", *m, "fly 🛫 to Denver 😀👍🏽"], expect_ok=True),
        Case("Latin + CJK + Arabic", ["tag", *m, "fly from Boston to 東京 then القاهرة"],
             expect_ok=True),
        Case("control characters", ["tag", *m, "fly\x07 to\x1b den\x7fver\x1f"], expect_ok=True),
        Case("tabs", ["tag", *m, "\tfly\tto\t\tboston\t"], expect_ok=True),
        Case("500-character word", ["tag", *m, "fly to " + "x" * 500], expect_ok=True),
        Case("only punctuation", ["tag", *m, "!?.,;:()[]{}\"'«»…"], expect_ok=True),
        # Tagging with U+FFFD or a clear refusal naming the argument are both fine; a codec
        # error about "surrogates" (what a strict UTF-8 stdout once gave) is not.
        Case("invalid UTF-8 in argv", ["tag", *m, os.fsdecode(b"fly to \xff\xfe boston")],
             expect_ok=None, bad_message="codec|surrogates"),
        Case("invalid UTF-8 in argv, --json", ["tag", *m, "--json",
                                               os.fsdecode(b"fly to \xff boston")],
             expect_ok=None, bad_message="codec|surrogates"),
        Case("CJK with an ASCII-only stdout", ["tag", *m, "fly to 東京"], expect_ok=True,
             env={"PYTHONIOENCODING": "ascii"}),
        Case("--file: 10,000-token line", ["tag", *m, "--json", "--file",
                                           str(texts["long_line"])], expect_ok=True),
        Case("--file: NUL, control chars, tabs", ["tag", *m, "--file", str(texts["control"])],
             expect_ok=True),
        Case("--file: emoji, scripts, blank lines", ["tag", *m, "--file", str(texts["mixed"])],
             expect_ok=True),
        Case("--file: not UTF-8", ["tag", *m, "--file", str(texts["non_utf8"])]),
        Case("--file: does not exist", ["tag", *m, "--file", str(tmp / "nope.txt")]),
        Case("--file: a folder", ["tag", *m, "--file", str(tmp)]),
        Case("--file - with empty stdin", ["tag", *m, "--file", "-"], stdin=b""),
        Case("no text at all", ["tag", *m]),
        # Datasets.
        *[Case(f"dataset: {what}", ["train", "--data", str(data[key]), "--out", never,
                                    *TRAIN_TINY])
          for what, key in [("seq.in/seq.out line count mismatch", "count"),
                            ("illegal tag", "illegal"), ("non-UTF-8 bytes", "utf8"),
                            ("empty test split", "empty"), ("missing folder", "missing"),
                            ("CoNLL line with one column", "conll"),
                            ("CR-only line endings", "cr_only")]],
        Case("dataset: --multi-intent, every label only '#'",
             ["train", "--data", str(data["hash_labels"]), "--out", never, "--multi-intent",
              *TRAIN_TINY]),
        Case("dataset: a file, not a folder", ["train", "--data", str(texts["mixed"]),
                                               "--out", never, *TRAIN_TINY]),
        Case("evaluate --split valid, no valid data", ["evaluate", *m, "--data",
                                                       str(data["single"]), "--split", "valid"]),
        Case("evaluate --data missing", ["evaluate", *m, "--data", str(data["missing"])]),
        # Models.
        Case("tag: model folder missing", ["tag", "--model", str(models["missing"]), "hi"]),
        Case("tag: no model.keras", ["tag", "--model", str(models["no_keras"]), "hi"]),
        Case("evaluate: model.keras random bytes", ["evaluate", "--model",
                                                    str(models["random_bytes"])],
             bad_message="File not found"),
        Case("export: model.keras a zip without a model",
             ["export", "--model", str(models["zip_not_model"]), "--out", never]),
        Case("export: words.txt with extra lines", ["export", "--model",
                                                    str(models["words_extra"]), "--out", never]),
        Case("tag: vocab/chars.txt missing", ["tag", "--model", str(models["no_chars"]), "hi"],
             bad_message="in user code"),
        Case("tag: vocab/intents.txt missing", ["tag", "--model", str(models["no_intents"]),
                                                "hi"]),
        Case("export: vocab/intents.txt missing", ["export", "--model",
                                                   str(models["no_intents"]), "--out", never]),
        Case("tag: vocab/chars.txt with extra lines", ["tag", "--model",
                                                       str(models["chars_extra"]), "zu münchen €"]),
        Case("tag: vocab/intents.txt with an extra line",
             ["tag", "--model", str(models["intents_extra"]), "fly to boston"],
             note="a shifted label list would mislabel silently"),
        Case("tag: chars.txt beside a --no-chars model", ["tag", "--model",
                                                          str(models["stray_chars"]), "hi"]),
        Case("evaluate: config.json not JSON", ["evaluate", "--model",
                                                str(models["bad_config"])]),
        Case("tag: --model is a file", ["tag", "--model", str(models["a_file"]), "hi"]),
        Case("tag: no model trained yet", ["tag", "hi"],
             env={"SLOTFILL_MODELS": str(tmp / "empty-models")}),
        Case("export --out onto an existing file", ["export", *m, "--out", str(taken)]),
        Case("train --out onto an existing file", ["train", "--out", str(taken_too),
                                                   *TRAIN_TINY]),
        Case("export --out onto the model folder itself",
             ["export", "--model", str(models["own_folder"]), "--out", str(models["own_folder"])]),
        Case("train --out onto a folder slotfill did not write",
             ["train", "--out", str(users_folder), *TRAIN_TINY]),
        Case("train --out . (the current folder)", ["train", "--out", ".", *TRAIN_TINY]),
        Case("train --out with a name that is not UTF-8",
             ["train", "--out", str(tmp / os.fsdecode(b"model-\xff")), *TRAIN_TINY],
             expect_ok=True),
        Case("train --resume from a damaged checkpoint",
             ["train", "--out", str(damaged), "--resume", *TRAIN_TINY]),
        Case("tag: model.keras with NaN weights", ["tag", "--model", str(models["nan_weights"]),
                                                   "fly to boston"],
             note="tagged every word O, exit 0, before the load-time check"),
        # Options.
        # The bad option comes last and wins, so a case that slipped through stays tiny.
        *[Case(f"train {' '.join(bad)}", ["train", "--out", never, *TRAIN_TINY, *bad])
          for bad in (["--epochs", "0"], ["--arch", "nope"], ["--dropout", "2"],
                      ["--batch-size", "-1"], ["--learning-rate", "nan"],
                      ["--learning-rate", "-0.1"], ["--window", "-1"])],
        Case("evaluate --split nope", ["evaluate", *m, "--split", "nope"]),
        Case("train --out below a file", ["train", "--out", str(blocked / "model"),
                                          *TRAIN_TINY]),
    ]


# --- running and reporting -----------------------------------------------------------------


def train_tiny(tmp: Path, env: dict[str, str], name: str = "tiny", *options: str) -> Path:
    out = tmp / "models" / name
    code, stdout, stderr, seconds = run_cli(["train", "--out", str(out), *TRAIN_TINY, *options],
                                            env)
    if code != 0:
        raise SystemExit(f"training the tiny model failed ({code}):\n{stdout}\n{stderr}")
    print(f"trained the {name} model in {seconds:.0f} s: {out}", flush=True)
    return out


def run_case(case: Case, base_env: dict[str, str], tmp: Path) -> Outcome:
    env = {**base_env, **case.env}
    code, stdout, stderr, seconds = run_cli(case.args, env, case.stdin)
    message = first_message(stdout, stderr)
    traceback = bool(TRACEBACK.search(stdout) or TRACEBACK.search(stderr))
    problems = []
    if case.expect_ok is not None and (code == 0) != case.expect_ok:
        problems.append(f"exit {code}")
    if code not in (0, None) and not re.match(r"error: |Error: |\(nothing to tag", message):
        problems.append("no error line")
    if "unexpected" in message:
        problems.append("unexpected error")
    if case.bad_message and re.search(case.bad_message, message):
        problems.append("unclear message")
    if traceback:
        problems.append("traceback")
    return Outcome(
        name=case.name,
        command=short_command(case.args, tmp),
        exit_code=code,
        expected={True: "0", False: "≠ 0", None: "any"}[case.expect_ok],
        as_expected=not problems,
        why_not=", ".join(problems),
        message=message,
        traceback=traceback,
        seconds=seconds,
        note=case.note,
    )


def _cell(text: str, tmp: Path, limit: int = 120) -> str:
    text = _visible(text.replace(str(tmp), "$T"))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|").replace("`", "'")


def markdown(outcomes: list[Outcome], env: dict, tmp: Path) -> str:
    tracebacks = sum(o.traceback for o in outcomes)
    missed = [o for o in outcomes if not o.as_expected]
    lines = [
        "# Robustness: bad input through the real CLI",
        "",
        f"{len(outcomes)} cases, each `python cli.py ...` in a fresh process, against a tiny "
        "model trained first (`train --epochs 1 --hidden 8 --embedding-dim 8 --quiet`, "
        "bundled data) in a temporary `$SLOTFILL_MODELS` (`$T` below); stdout is strict "
        "UTF-8 (`PYTHONIOENCODING=utf-8`), as in a usual `en_US.UTF-8` terminal.",
        "",
        f"**Tracebacks: {tracebacks}** (goal: 0; a traceback is Python's header or a stack of "
        "`File \"...\", line N` frames anywhere in stdout or stderr).  ",
        f"**Cases not as expected: {len(missed)}**"
        + (": " + "; ".join(f"{o.name} ({o.why_not})" for o in missed) if missed else "")
        + ".",
        "",
        "Expected: odd but valid text is tagged (exit 0); everything else is refused with one "
        "line starting `error:` (exit 1) or click's `Error:` (exit 2, bad option), never an "
        "`unexpected ...` error, a traceback, or a known unclear wording.",
        "",
        "| # | case | command | exit | expected | first line of the message | traceback "
        "| as expected | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, o in enumerate(outcomes, start=1):
        exit_code = "timeout" if o.exit_code is None else str(o.exit_code)
        verdict = "yes" if o.as_expected else f"**no**: {o.why_not}"
        name = o.name + (f" ({o.note})" if o.note else "")
        lines.append(
            f"| {i} | {_cell(name, tmp, 60)} | `{_cell(o.command, tmp, 90)}` | {exit_code} | "
            f"{o.expected} | {_cell(o.message, tmp)} | {'**yes**' if o.traceback else 'no'} | "
            f"{verdict} | {o.seconds:.0f} |")
    lines += ["", "## Environment", "", environment_markdown(env)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    parser.add_argument("--only", metavar="REGEX",
                        help="Run only the cases whose name matches (for a quick look).")
    parser.add_argument("--out", type=Path, default=RESULTS / "robustness.md")
    args = parser.parse_args(argv)

    env_info = environment(argv)
    tmp = Path(tempfile.mkdtemp(prefix="slotfill-robustness-"))
    env = {**os.environ, "SLOTFILL_MODELS": str(tmp / "models"), "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONIOENCODING": "utf-8"}
    env.pop("SLOTFILL_DEBUG", None)
    env.pop("SLOTFILL_DATA", None)
    try:
        model = train_tiny(tmp, env)
        no_chars = train_tiny(tmp, env, "tiny-no-chars", "--no-chars", "--no-intent")
        battery = cases(tmp, model, make_datasets(tmp), make_models(tmp, model, no_chars),
                        make_text_files(tmp))
        if args.only:
            battery = [case for case in battery if re.search(args.only, case.name)]
        outcomes = []
        for i, case in enumerate(battery, start=1):
            outcome = run_case(case, env, tmp)
            outcomes.append(outcome)
            flag = "TRACEBACK " if outcome.traceback else ""
            print(f"[{i:2d}/{len(battery)}] exit {outcome.exit_code} {flag}{case.name}: "
                  f"{outcome.message[:100]}", flush=True)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    report = markdown(outcomes, env_info, tmp)
    write_atomic(args.out, report)
    print()
    print(report)
    return 1 if any(o.traceback for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
