"""Serving benchmark: `slotfill serve` under 1, 8 and 64 concurrent clients, batching on and off.

Two servers run as child processes on 127.0.0.1, one batching requests (the defaults) and
one with ``--batch-size 1``. At each concurrency the two are loaded in turn, alternating
for ``--rounds`` rounds of ``--seconds`` each (the machine is shared: alternating keeps the
comparison fair), and the median round is reported. Then a soak runs the batching server
at 64 clients for ``--soak-seconds``, reading its memory at the start and the end.

The load comes from wrk (Debian's ``wrk`` package), a C load generator: one connection is
one client sending one sentence per request, back to back; wrk's own CPU cost is small
beside a Python client's, so the server gets the cores. Each request is ``POST /parse``
with ``{"text": ...}``, the sentences taken in turn from ``--data``'s test split.

Writes ``serve.json`` (environment, every round, targets with pass/fail) and ``serve.md``
to ``--out`` (default ``benchmarks/results``)::

    python benchmarks/serve.py --model models/bilstm --data ../shared/datasets/atis
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

CONCURRENCY = (1, 8, 64)

# Lua for wrk: POST each sentence in turn; at the end print the figures as one JSON line.
WRK_SCRIPT = """
local bodies = {%(bodies)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/parse", {["Content-Type"] = "application/json"},
                    bodies[(n %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "errors": {"connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d}, "latency_ms": {"p50": %%.3f, ' ..
    '"p95": %%.3f, "p99": %%.3f, "max": %%.3f, "mean": %%.3f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
"""


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    op: str
    bound: float


TARGETS = (
    Target("batching_speedup_64", "requests/s at 64 clients, batching on / off", ">=", 3.0),
    Target("p99_ms_64", "p99 latency at 64 clients, batching on (ms)", "<=", 100.0),
    Target("errors_64", "errors at 64 clients, batching on", "<=", 0),
    Target("soak_errors", "errors in the soak at 64 clients", "<=", 0),
    Target("soak_memory_growth_pct", "server memory (RSS) at the end of the soak vs its start (%)",
           "<=", 10.0),
)


class BenchmarkError(Exception):
    pass


class Server:
    """`slotfill serve` in a child process on a free loopback port."""

    def __init__(self, model: Path, options: list[str], log: Path) -> None:
        self.log = log
        self._log = open(log, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "slotfill", "serve", "--model", str(model), "--port", "0",
             *options], stdout=subprocess.PIPE, stderr=self._log, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        line = self.proc.stdout.readline()
        if not line.startswith("serving "):
            self.proc.kill()
            raise BenchmarkError(f"serve did not start ({line.strip()!r}); see {log}")
        self.url = line.split(" on ", 1)[1].split()[0]

    def memory_mb(self) -> dict[str, float]:
        """The server's resident memory now and its peak, from /proc."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return {"rss_mb": round(fields["VmRSS"], 1), "peak_mb": round(fields["VmHWM"], 1)}

    def health(self) -> dict:
        with urllib.request.urlopen(self.url + "/health", timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> int:
        self.proc.terminate()
        code = self.proc.wait(120)
        self._log.close()
        return code


def write_wrk_script(sentences: list[str], path: Path) -> None:
    bodies = []
    for sentence in sentences:
        body = json.dumps({"text": sentence})
        if "]==]" in body:
            continue
        bodies.append(f"[==[{body}]==]")
    path.write_text(WRK_SCRIPT % {"bodies": ", ".join(bodies)})


def run_wrk(url: str, clients: int, seconds: float, script: Path) -> dict[str, Any]:
    threads = min(2, clients)
    done = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds:g}s", "--timeout", "10s",
         "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("WRK_JSON ")]
    if done.returncode != 0 or not lines:
        raise BenchmarkError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    result = json.loads(lines[-1].split(" ", 1)[1])
    result["requests_per_second"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["error_count"] = sum(result["errors"].values())
    return result


def read_sentences(data: Path) -> list[str]:
    for name in ("test/seq.in", "valid/seq.in", "train/seq.in"):
        if (data / name).is_file():
            lines = (data / name).read_text(encoding="utf-8").splitlines()
            return [line.strip() for line in lines if line.strip()]
    raise BenchmarkError(f"{data} has no test/seq.in (an ATIS-layout dataset folder)")


def run(model: Path, data: Path, out_dir: Path, seconds: float, rounds: int,
        soak_seconds: float, argv: list[str]) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise BenchmarkError("needs wrk: apt-get install wrk")
    environment = common.environment(argv)
    environment["wrk"] = subprocess.run(["wrk", "--version"], capture_output=True,
                                        text=True).stdout.splitlines()[0]
    sentences = read_sentences(data)
    with tempfile.TemporaryDirectory(prefix="slotfill-serve-") as tmp:
        root = Path(tmp)
        script = root / "parse.lua"
        write_wrk_script(sentences, script)
        servers = {"on": Server(model, [], root / "on.log"),
                   "off": Server(model, ["--batch-size", "1"], root / "off.log")}
        try:
            health = servers["on"].health()
            for server in servers.values():  # warm both up before anything is timed
                run_wrk(server.url, 64, min(3.0, seconds), script)
            levels: dict[str, dict[str, Any]] = {}
            for clients in CONCURRENCY:
                runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
                for round_number in range(rounds):
                    order = ("on", "off") if round_number % 2 == 0 else ("off", "on")
                    for batching in order:
                        print(f"{clients:>3} clients, batching {batching}, round "
                              f"{round_number + 1}", flush=True)
                        runs[batching].append(run_wrk(servers[batching].url, clients, seconds,
                                                      script))
                levels[str(clients)] = {b: _median_round(r) | {"rounds": r}
                                        for b, r in runs.items()}
            peak = {b: server.memory_mb()["peak_mb"] for b, server in servers.items()}
            print(f"soak: 64 clients for {soak_seconds:g} s", flush=True)
            start_memory = servers["on"].memory_mb()
            soak = run_wrk(servers["on"].url, 64, soak_seconds, script)
            end_memory = servers["on"].memory_mb()
            healthy = servers["on"].health()["status"] == "ok"
            peak["on"] = end_memory["peak_mb"]
        finally:
            exits = {b: server.stop() for b, server in servers.items()}
    soak_result = {"seconds": soak_seconds, "clients": 64, **soak, "memory_start": start_memory,
                   "memory_end": end_memory, "healthy_after": healthy,
                   "memory_growth_pct": round(
                       100 * (end_memory["rss_mb"] / start_memory["rss_mb"] - 1), 2)}
    measures = {"levels": levels, "soak": soak_result, "server_peak_memory_mb": peak,
                "server_exit_codes": exits}
    report = {
        "benchmark": "serve",
        "environment": environment,
        "model": str(model),
        "model_arch": health["arch"],
        "data": str(data),
        "sentences": len(sentences),
        "settings": {"seconds_per_round": seconds, "rounds": rounds,
                     "soak_seconds": soak_seconds, "concurrency": list(CONCURRENCY),
                     "batching_on": "serve defaults", "batching_off": "serve --batch-size 1"},
        "measures": measures,
        "targets": evaluate_targets(measures),
    }
    report["all_passed"] = all(t["passed"] for t in report["targets"])
    out_dir.mkdir(parents=True, exist_ok=True)
    common.write_json(out_dir / "serve.json", report)
    common.write_atomic(out_dir / "serve.md", render_markdown(report))
    return report


def _median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median requests/s (the upper one of an even count), its errors
    summed over every round."""
    ordered = sorted(rounds, key=lambda r: r["requests_per_second"])
    median = ordered[len(ordered) // 2]
    return {"requests_per_second": median["requests_per_second"],
            "latency_ms": median["latency_ms"],
            "errors": sum(r["error_count"] for r in rounds),
            "requests_per_second_all": [r["requests_per_second"] for r in rounds]}


def evaluate_targets(measures: dict[str, Any]) -> list[dict[str, Any]]:
    top = measures["levels"]["64"]
    values = {
        "batching_speedup_64": round(top["on"]["requests_per_second"]
                                     / top["off"]["requests_per_second"], 2),
        "p99_ms_64": top["on"]["latency_ms"]["p99"],
        "errors_64": top["on"]["errors"],
        "soak_errors": measures["soak"]["error_count"],
        "soak_memory_growth_pct": measures["soak"]["memory_growth_pct"],
    }
    rows = []
    for target in TARGETS:
        value = values[target.name]
        passed = value <= target.bound if target.op == "<=" else value >= target.bound
        rows.append({**asdict(target), "value": value, "passed": passed})
    return rows


def render_markdown(report: dict[str, Any]) -> str:
    m = report["measures"]
    lines = ["# Serving benchmark", "",
             f"`slotfill serve` with the {report['model_arch']} model `{report['model']}`, "
             f"{report['sentences']} test sentences of `{report['data']}` sent in turn as "
             '`POST /parse {"text": ...}` by wrk, one sentence per request. Batching on = '
             "serve's defaults; off = `--batch-size 1`. Each concurrency alternates the two "
             f"servers for {report['settings']['rounds']} rounds of "
             f"{report['settings']['seconds_per_round']:g} s; the median round is shown.", "",
             "## Environment", "", common.environment_markdown(report["environment"]),
             f"wrk: {report['environment']['wrk']}", "", "## Targets", "",
             "| measure | value | target | result |", "|---|---:|---:|---|"]
    for t in report["targets"]:
        verdict = "pass" if t["passed"] else "**FAIL**"
        lines.append(f"| {t['description']} | {t['value']:g} | {t['op']} {t['bound']:g} | "
                     f"{verdict} |")
    lines += ["", "## Throughput and latency", "",
              "| clients | batching | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors | "
              "requests/s of every round |", "|---:|---|---:|---:|---:|---:|---:|---|"]
    for clients, level in m["levels"].items():
        for batching in ("on", "off"):
            row = level[batching]
            lat = row["latency_ms"]
            lines.append(f"| {clients} | {batching} | {row['requests_per_second']:.0f} | "
                         f"{lat['p50']:.1f} | {lat['p95']:.1f} | {lat['p99']:.1f} | "
                         f"{row['errors']} | "
                         f"{', '.join(f'{x:.0f}' for x in row['requests_per_second_all'])} |")
    soak = m["soak"]
    lines += ["", "## Soak", "",
              f"64 clients for {soak['seconds']:g} s on the batching server: "
              f"{soak['requests']} requests ({soak['requests_per_second']:.0f}/s), "
              f"{soak['error_count']} errors, p99 {soak['latency_ms']['p99']:.1f} ms; "
              f"memory (RSS) {soak['memory_start']['rss_mb']:.0f} MB at the start, "
              f"{soak['memory_end']['rss_mb']:.0f} MB at the end "
              f"({soak['memory_growth_pct']:+.1f} %); healthy after: {soak['healthy_after']}.",
              "", "Server peak memory (VmHWM): " + ", ".join(
                  f"batching {b} {mb:.0f} MB" for b, mb in m["server_peak_memory_mb"].items())
              + f"; exit codes after SIGTERM: {m['server_exit_codes']}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="Model folder to serve.")
    parser.add_argument("--data", type=Path,
                        default=common.REPO / "slotfill" / "bundled" / "flights",
                        help="Dataset whose test sentences are sent (default: bundled).")
    parser.add_argument("--seconds", type=float, default=15.0, help="Length of each round.")
    parser.add_argument("--rounds", type=int, default=2,
                        help="Rounds per concurrency and batching setting.")
    parser.add_argument("--soak-seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args(argv)
    try:
        report = run(args.model, args.data, args.out, args.seconds, args.rounds,
                     args.soak_seconds, ["benchmarks/serve.py", *(argv or sys.argv[1:])])
    except BenchmarkError as err:
        sys.exit(f"error: {err}")
    for t in report["targets"]:
        print(f"{t['name']:<24} {t['value']:>8g}  {t['op']} {t['bound']:g}  "
              f"{'pass' if t['passed'] else 'FAIL'}")
    print(f"wrote {args.out / 'serve.json'} and {args.out / 'serve.md'}")


if __name__ == "__main__":
    main()
