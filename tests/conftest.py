"""Shared fixtures: tiny datasets written on the fly, and the bundled dataset's path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config) -> None:
    # TensorFlow as the CLI runs it (one thread per op), set before any test runs an op.
    from slotfill.threads import use_one_thread_per_op

    use_one_thread_per_op()


REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "slotfill" / "bundled" / "flights"


def atis_path() -> Path | None:
    """ATIS from $SLOTFILL_ATIS or ../shared/datasets/atis; None when absent."""
    candidates = [os.environ.get("SLOTFILL_ATIS"), REPO.parent / "shared" / "datasets" / "atis"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "train" / "seq.in").is_file():
            return Path(candidate)
    return None


@pytest.fixture
def isolated_models(tmp_path, monkeypatch) -> Path:
    """Models (and the 'latest' pointer) go to a temporary folder, never to the repo."""
    root = tmp_path / "models"
    monkeypatch.setenv("SLOTFILL_MODELS", str(root))
    return root


# Small enough to train in seconds on two cores, big enough to learn the bundled data.
SMALL = dict(epochs=5, patience=3, hidden=24, embedding_dim=24, char_dim=8, char_filters=16,
             intent_hidden=16,
             batch_size=16, learning_rate=0.01, seed=1)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One small bilstm-CRF with intent, trained once on the bundled data for the whole test run.

    Returns the TrainResult; its model folder is also recorded as the latest model
    under a $SLOTFILL_MODELS shared by the whole run.
    """
    from slotfill.config import Config
    from slotfill.data import load_dataset
    from slotfill.training import train

    root = tmp_path_factory.mktemp("shared-models")
    patch = pytest.MonkeyPatch()
    patch.setenv("SLOTFILL_MODELS", str(root))
    try:
        yield train(Config(**SMALL), load_dataset(BUNDLED), root / "tiny", verbose=0)
    finally:
        patch.undo()


@pytest.fixture(scope="session")
def bundled():
    from slotfill.data import load_dataset

    return load_dataset(BUNDLED)


class ServerProcess:
    """``slotfill serve`` in a child process on a free loopback port."""

    def __init__(self, model: Path, *options: str, log_dir: Path) -> None:
        import subprocess
        import sys

        self.stderr_path = log_dir / "serve.stderr"
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "slotfill", "serve", "--model", str(model), "--port", "0",
             *options], stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=REPO)
        self.lines: list[str] = []
        line = self._read_line(timeout=180)
        if not line.startswith("serving "):
            raise RuntimeError(f"serve did not start: {line!r}; stderr: {self.stderr()}")
        self.url = line.split(" on ", 1)[1].split()[0]

    def _read_line(self, timeout: float) -> str:
        import threading

        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not result:
            raise TimeoutError(f"no line from serve in {timeout} s; stderr: {self.stderr()}")
        self.lines.append(result[0])
        return result[0]

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit code (what serve printed after 'serving' is in lines)."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.lines += self.proc.stdout.readlines()
        self._stderr.close()
        return code


@pytest.fixture(scope="session")
def server(trained, tmp_path_factory):
    """One server on the shared small model for the whole test run."""
    process = ServerProcess(trained.model_dir, log_dir=tmp_path_factory.mktemp("server"))
    try:
        yield process
    finally:
        process.stop()
