"""Cold start of the lint: wall time of ``edgeinspect lint FIXTURE`` in a fresh interpreter, against
``python -c "import torch"``, as a ratio (medians of several runs).

Run: ``python benchmarks/cold_start.py [--runs N] [--fixture PATH]``. Each run is a new process,
as in CI; the first (cache-warming) run of each command is discarded, and bytecode caching is
on (as on a user's machine) even where PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# As a user's machine: bytecode is cached (the warm-up run writes it), whatever this shell says.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str], runs: int, ok_codes: tuple[int, ...]) -> list[float]:
    """Wall times of ``runs`` executions of ``cmd`` (after one discarded warm-up)."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
        elapsed = time.perf_counter() - start
        if proc.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
        if i:
            times.append(elapsed)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--fixture", default=str(ROOT / "tests" / "data" / "u55_multi.pte"))
    args = ap.parse_args()

    lint = wall([sys.executable, "-m", "edgeinspect.cli", "lint", args.fixture], args.runs, (0, 1))
    bare = wall([sys.executable, "-c", "pass"], args.runs, (0,))
    lint_med, bare_med = statistics.median(lint), statistics.median(bare)
    print(f"python -c pass:            median {bare_med * 1000:7.1f} ms  ({args.runs} runs)")
    print(f"edgeinspect lint FIXTURE:  median {lint_med * 1000:7.1f} ms  (min {min(lint) * 1000:.1f}, max {max(lint) * 1000:.1f})")
    try:
        torch = wall([sys.executable, "-c", "import torch"], max(3, args.runs // 2), (0,))
    except SystemExit as err:
        print(f"import torch: not measurable here ({err})")
        return 0
    torch_med = statistics.median(torch)
    print(f"python -c 'import torch':  median {torch_med * 1000:7.1f} ms  ({len(torch)} runs)")
    print(f"ratio lint / import torch: {lint_med / torch_med:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
