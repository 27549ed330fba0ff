"""Wall time and memory of ``edgeinspect sweep``: a 4-model x 3-target sweep with 1 and 2 workers.

``python benchmarks/bench_sweep.py [--runs N] [--models A,B,C,D] [--targets T,T,T]`` measures,
in one run, each in FRESH processes (median of ``--runs``):

- **by hand**: one Python process that exports every pair in turn with the same flows
  (``edgeinspect.export.flows.lower``, one torch thread as the sweep's workers use, nothing
  written but the .pte in memory): what a notebook or script without the sweep does. The
  reference;
- **sweep, 1 worker** and **sweep, 2 workers**: the whole ``edgeinspect sweep ... --force``
  command (worker start-up, exports, file writing, analysis, the table), wall clock.

It prints the speedups (by hand / sweep), the CPU time of all the processes of each run (the
sweep's own cost over the exports, which other jobs on the machine do not change) and the memory: the command's own peak RSS and each
export's peak (``VmHWM`` of the worker, reset at the start of each task, read at its end; the
per-pair figure the sweep records). Rows of the 1- and 2-worker sweeps are checked equal.
Defaults: SqueezeNet 1.1, ResNet-18, MobileNetV2 and the ViT of the built-in zoo on
ethos-u55-128, ethos-u85-256 and xnnpack.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = "squeezenet1_1,resnet18,mobilenet_v2,vit_tiny"
TARGETS = "ethos-u55-128,ethos-u85-256,xnnpack"

# The command with its own peak RSS reported at exit (VmHWM of /proc/self/status).
COMMAND = """
import atexit, sys
def _peak():
    with open("/proc/self/status") as f:
        kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    sys.stderr.write("\\nPEAK_RSS_KB " + kb + "\\n")
atexit.register(_peak)
from edgeinspect.cli import main
sys.exit(main(sys.argv[1:]))
"""

BY_HAND = """
import contextlib, json, os, sys, tempfile, time
t0 = time.perf_counter()
import torch
from edgeinspect.export import flows
from edgeinspect.export.architectures import build
torch.set_num_threads(1)
calls = {}
for model in sys.argv[1].split(","):
    for target in sys.argv[2].split(","):
        torch.manual_seed(0)
        m, ex = build(model)
        work = tempfile.mkdtemp()
        os.chdir(work)
        with contextlib.redirect_stdout(sys.stderr):
            edge = flows.lower({"forward": (m, ex)}, target, "dump")
            info = flows.delegation_info(edge)
            pte = edge.to_executorch().buffer
        calls[f"{model}/{target}"] = info["forward"]["num_delegated_subgraphs"]
with open("/proc/self/status") as f:
    kb = int(next(line.split()[1] for line in f if line.startswith("VmHWM:")))
print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_kb": kb, "delegates": calls}))
"""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), PYTHONHASHSEED="0")


def _cpu() -> float:
    """CPU seconds (user + system) of every finished child process and their descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def by_hand(models: str, targets: str) -> dict:
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run([sys.executable, "-c", BY_HAND, models, targets], capture_output=True, text=True, env=_env(), check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - start
    out["cpu"] = _cpu() - cpu
    return out


def sweep(models: str, targets: str, workers: int, out: Path) -> dict:
    args = [sys.executable, "-c", COMMAND, "sweep", *models.split(","), "--targets", targets, "-o", str(out)]
    args += ["--workers", str(workers), "--force", "-q", "--format", "json"]
    start, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(args, capture_output=True, text=True, env=_env())
    wall, cpu = time.perf_counter() - start, _cpu() - cpu  # the workers are waited for: their CPU counts
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    doc = json.loads(proc.stdout)
    peak = int(proc.stderr.rsplit("PEAK_RSS_KB ", 1)[1].split()[0])
    task_peaks = [r["run"]["peak_rss_bytes"] for r in doc["rows"] if r["run"]["peak_rss_bytes"]]
    return {"wall": wall, "cpu": cpu, "command_peak_kb": peak, "task_peak_bytes": task_peaks, "doc": doc}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--targets", default=TARGETS)
    args = parser.parse_args()
    hand, one, two = [], [], []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):  # take turns, so load from other jobs falls on all alike
            hand.append(by_hand(args.models, args.targets))
            one.append(sweep(args.models, args.targets, 1, Path(tmp) / f"w1-{i}"))
            two.append(sweep(args.models, args.targets, 2, Path(tmp) / f"w2-{i}"))
    strip = [[{k: v for k, v in r.items() if k != "run"} for r in s["doc"]["rows"]] for s in (*one, *two)]
    assert all(rows == strip[0] for rows in strip), "1- and 2-worker sweeps disagree"
    for r in one[0]["doc"]["rows"]:
        assert r["delegate_calls"] == hand[0]["delegates"][f"{r['model']}/{r['target']}"], r
    med = statistics.median
    t_hand, t1, t2 = med(h["wall"] for h in hand), med(s["wall"] for s in one), med(s["wall"] for s in two)
    pairs = len(one[0]["doc"]["rows"])
    print(f"# sweep benchmark: {len(args.models.split(','))} models x {len(args.targets.split(','))} targets = {pairs} exports")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; median of {args.runs} run(s)")
    print(f"load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f} (other jobs share the CPUs)")
    print()
    c_hand, c1, c2 = med(h["cpu"] for h in hand), med(s["cpu"] for s in one), med(s["cpu"] for s in two)
    print("| run | wall time | by hand / this | CPU time (all processes) |")
    print("|---|---|---|---|")
    print(f"| by hand: one process, every pair in turn | {t_hand:.1f} s | 1.00x | {c_hand:.1f} s |")
    print(f"| `edgeinspect sweep --workers 1` | {t1:.1f} s | {t_hand / t1:.2f}x | {c1:.1f} s |")
    print(f"| `edgeinspect sweep --workers 2` | {t2:.1f} s | {t_hand / t2:.2f}x | {c2:.1f} s |")
    print()
    print(f"speedup of 2 workers over 1: {t1 / t2:.2f}x")
    peaks = [p for s in (*one, *two) for p in s["task_peak_bytes"]]
    print()
    print("| memory | peak RSS |")
    print("|---|---|")
    print(f"| by hand: the one process | {med(h['peak_rss_kb'] for h in hand) / 1024:.0f} MB |")
    print(f"| sweep command (no torch) | {med(s['command_peak_kb'] for s in (*one, *two)) / 1024:.0f} MB |")
    print(f"| one export in a worker: median / max over {len(peaks)} | {med(peaks) / 2**20:.0f} MB / {max(peaks) / 2**20:.0f} MB |")
    print(f"| 2 workers at once, at most | {2 * max(peaks) / 2**20:.0f} MB |")
    print()
    print("per pair (1 worker): seconds, peak RSS")
    for r in one[0]["doc"]["rows"]:
        mb = r["run"]["peak_rss_bytes"] / 2**20
        print(f"  {r['model']:14} {r['target']:14} {r['run']['seconds']:6.1f} s {mb:6.0f} MB  {r['delegate_calls']} delegate(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
