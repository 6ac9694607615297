"""Killing `train` at any moment leaves the previous model intact; `--resume` then finishes it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

TRAIN = [sys.executable, str(REPO / "cli.py"), "train", "--epochs", "2", "--patience", "2",
         "--hidden", "8", "--embedding-dim", "8", "--quiet"]


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"train ended before {path.name} appeared:\n{process.stdout.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{path.name} did not appear within {timeout} s")
        time.sleep(0.2)


# SIGINT takes the same path as SIGTERM (the CLI turns SIGTERM into KeyboardInterrupt).
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_training_keeps_the_previous_model(sig, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "model.keras").write_text("the previous model")
    env = {**os.environ, "SLOTFILL_MODELS": str(tmp_path / "models")}
    process = subprocess.Popen([*TRAIN, "--out", str(out)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    # The first checkpoint means training is well under way.
    _wait_for(tmp_path / ".model.checkpoint" / "state.json", process)
    process.send_signal(sig)
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0
    assert (out / "model.keras").read_text() == "the previous model"
    assert sorted(p.name for p in out.iterdir()) == ["model.keras"]
    if sig != signal.SIGKILL:
        assert "Traceback" not in output
        assert "--resume" in output
        # A clean interruption leaves no temporary folder behind, only the checkpoint.
        assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
    if sig == signal.SIGTERM:
        resumed = subprocess.run([*TRAIN, "--out", str(out), "--resume"], env=env,
                                 capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert (out / "saved_model" / "saved_model.pb").is_file()
        assert not (tmp_path / ".model.checkpoint").exists()
