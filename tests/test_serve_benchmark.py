"""benchmarks/serve.py: its targets and record from given figures, and a short real run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import serve  # noqa: E402


def level(rps: float, p99: float, errors: int = 0) -> dict:
    return {"requests_per_second": rps, "errors": errors, "requests_per_second_all": [rps],
            "latency_ms": {"p50": p99 / 2, "p95": p99 * 0.9, "p99": p99}}


def measures(on_rps: float, off_rps: float, p99: float, soak_errors: int,
             rss: tuple[float, float]) -> dict:
    return {
        "levels": {str(c): {"on": level(on_rps, p99), "off": level(off_rps, p99 * 5)}
                   for c in serve.CONCURRENCY},
        "soak": {"seconds": 60, "requests": 1000, "requests_per_second": on_rps,
                 "error_count": soak_errors, "latency_ms": {"p99": p99},
                 "memory_start": {"rss_mb": rss[0]}, "memory_end": {"rss_mb": rss[1]},
                 "memory_growth_pct": round(100 * (rss[1] / rss[0] - 1), 2),
                 "healthy_after": True},
        "server_peak_memory_mb": {"on": 800.0, "off": 700.0},
        "server_exit_codes": {"on": 0, "off": 0},
    }


def test_targets_pass_and_fail_on_the_figures():
    good = {t["name"]: t for t in serve.evaluate_targets(
        measures(1500, 150, 60, 0, (700, 720)))}
    assert good["batching_speedup_64"]["value"] == 10.0
    assert all(t["passed"] for t in good.values())
    bad = {t["name"]: t["passed"] for t in serve.evaluate_targets(
        measures(400, 150, 140, 3, (700, 800)))}
    assert bad == {"batching_speedup_64": False, "p99_ms_64": False, "errors_64": True,
                   "soak_errors": False, "soak_memory_growth_pct": False}


def test_the_lua_script_holds_every_sentence_as_json(tmp_path):
    script = tmp_path / "parse.lua"
    serve.write_wrk_script(['fly to "boston"', "café"], script)
    text = script.read_text()
    assert '[==[{"text": "fly to \\"boston\\""}]==]' in text
    assert '[==[{"text": "caf\\u00e9"}]==]' in text


@pytest.mark.benchmark
@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install wrk)")
def test_a_short_run_writes_a_complete_record(trained, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "serve.py"), "--model",
         str(trained.model_dir), "--seconds", "1", "--rounds", "1", "--soak-seconds", "2",
         "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "serve.json").read_text())
    for clients in serve.CONCURRENCY:
        for batching in ("on", "off"):
            row = report["measures"]["levels"][str(clients)][batching]
            assert row["requests_per_second"] > 0 and row["errors"] == 0
    assert report["measures"]["soak"]["healthy_after"] is True
    assert report["measures"]["server_exit_codes"] == {"on": 0, "off": 0}
    assert {t["name"] for t in report["targets"]} == {t.name for t in serve.TARGETS}
    assert "| 64 | on |" in (out / "serve.md").read_text()
