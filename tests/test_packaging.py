"""The package as a user installs it: a wheel in a fresh virtual environment, run from an
empty folder, with nothing of the checkout on its path.

pip resolves the wheel's dependencies from the package index (its cache makes a rerun fast).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

# What a wheel must hold besides the code: the bundled dataset.
BUNDLED_FILES = [f"slotfill/bundled/flights/{split}/{name}" for split in ("train", "valid", "test")
                 for name in ("seq.in", "seq.out", "label")]


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy, so the checkout gets no build/ or egg-info of its own.
    source = tmp_path_factory.mktemp("source") / "slotfill"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "models", "build", "*.egg-info", "__pycache__", ".*_cache"))
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)], cwd=out, env=dict(os.environ))
    (found,) = out.glob("slotfill-*.whl")
    return found


def test_the_wheel_holds_the_package_its_data_and_no_checkout_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "slotfill/cli.py" in names and "slotfill/__main__.py" in names
    assert set(BUNDLED_FILES) <= names
    assert not any(name.split("/")[0] in {"cli.py", "tests", "benchmarks", "data"}
                   for name in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "slotfill = slotfill.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_trains_tags_and_answers_help_from_an_empty_folder(wheel, tmp_path):
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # Nothing of the checkout or of this test run's environment may leak in.
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "SLOTFILL_DATA", "SLOTFILL_MODELS", "VIRTUAL_ENV"}}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path, env=env,
        timeout=1500)
    work = tmp_path / "empty"
    work.mkdir()

    trained = run([str(env_dir / "bin" / "slotfill"), "train", "--epochs", "1", "--quiet"],
                  cwd=work, env=env)
    assert "model written to models/bilstm" in trained
    assert "test " in trained and "slot_f1" in trained
    assert (work / "models" / "bilstm" / "saved_model" / "saved_model.pb").is_file()

    tagged = run([str(env_dir / "bin" / "slotfill"), "tag", "--json", "fly from boston to denver"],
                 cwd=work, env=env)
    assert '"tokens": ["fly", "from", "boston", "to", "denver"]' in tagged

    helped = run([str(python), "-m", "slotfill", "--help"], cwd=work, env=env)
    assert "train" in helped and "tag" in helped

    api = run([str(python), "-c", "import slotfill; from slotfill import Tagger, train, Config, "
               "load_dataset; print(slotfill.__file__); print(len(load_dataset()['train']))"],
              cwd=work, env=env)
    location, sentences = api.split()
    assert Path(location).is_relative_to(env_dir)  # the installed copy, not the checkout
    assert int(sentences) == 600
