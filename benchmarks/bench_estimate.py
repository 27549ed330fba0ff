"""``inspect --estimate`` against the ``vela`` command run on the same dumps one after another.

``python benchmarks/bench_estimate.py [--runs N]``

The program: a U55 CNN split into four Ethos-U delegates by three channel gathers
(``index_select``, which the U55 cannot run), 8 to 20 channels on 64x64, exported once with the
real Arm flow (quantize, partition, lower, Vela) into ``benchmarks/.cache/estimate4/`` with
its dumped .tosa files (needs the ``export`` extra; the timing itself does not import torch).

Measured in the same run, every figure a whole fresh process, medians of ``--runs``, the
tools taking turns so load from other jobs falls on all of them alike:

- **vela, one after another**: ``vela DUMP <the delegate's compile_flags>
  --verbose-performance --output-dir D`` for each of the four dumps in turn (what a user
  does by hand);
- **inspect --estimate --no-cache**: ``edgeinspect inspect PTE --tosa DIR --estimate
  --no-cache --format json``: load, join, four Vela runs (in parallel), JSON;
- **inspect --estimate, cached**: the same without ``--no-cache`` on a warm cache.

The ratio column is *vela / ours*: above 1x means ``inspect --estimate`` is faster.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache" / "estimate4"
PTE = CACHE / "estimate4.pte"
DUMPS = CACHE / "estimate4.tosa.d"
CHANNELS, SIZE, GATHERS = 8, 64, 3


def _export() -> None:
    """Export the four-delegate program and its dumps with the real Arm flow."""
    import torch

    from edgeinspect.export import zoo

    class FourDelegates(torch.nn.Module):
        """Conv, then ``GATHERS`` times (channel gather, conv); the gathers stay on the CPU.
        Each stage widens by 4 channels, so no two delegates have the same inputs and
        outputs (dumps are joined to delegates by signature)."""

        def __init__(self) -> None:
            super().__init__()
            widths = [3] + [CHANNELS + 4 * i for i in range(GATHERS + 1)]
            self.convs = torch.nn.ModuleList(torch.nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:]))
            for i, width in enumerate(widths[1:-1]):
                self.register_buffer(f"index{i}", torch.arange(width - 1, -1, -1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.convs[0](x))
            for i, conv in enumerate(self.convs[1:]):
                y = torch.relu(conv(torch.index_select(y, 1, getattr(self, f"index{i}"))))
            return y

    torch.manual_seed(0)
    model = FourDelegates().eval()
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    cwd = os.getcwd()
    os.chdir(CACHE)  # the dump path lands in the .pte: keep it relative
    try:
        edge = zoo._lower_arm({"forward": (model, (torch.randn(1, 3, SIZE, SIZE),))}, "ethos-u55", DUMPS.name)
        PTE.write_bytes(edge.to_executorch().buffer)
    finally:
        os.chdir(cwd)
    for entry in DUMPS.iterdir():  # keep the per-delegate dumps, not Vela's working copy
        if not (entry.name.startswith("output") and entry.suffix == ".tosa"):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _ensure_program() -> None:
    if PTE.exists() and DUMPS.is_dir():
        return
    print("exporting the four-delegate program (once) ...", file=sys.stderr, flush=True)
    subprocess.run(
        [sys.executable, "-c", "import bench_estimate as b; b._export()"],
        cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
        check=True,
    )


def _jobs() -> list[tuple[Path, list[str]]]:
    """(dump, compile flags) of each delegate, from the joined program."""
    sys.path.insert(0, str(ROOT))
    import edgeinspect

    program = edgeinspect.load(PTE, tosa=DUMPS)
    jobs = []
    for d in program.methods[0].delegates:
        if d.tosa is None:
            raise SystemExit(f"delegate {d.index} has no joined dump ({d.tosa_join}); re-export with: rm -r {CACHE}")
        jobs.append((Path(d.tosa.path), d.specs["compile_flags"].split()))
    return jobs


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per figure (median; default 5)")
    args = parser.parse_args(argv)
    _ensure_program()
    jobs = _jobs()
    vela = shutil.which("vela", path=os.path.dirname(sys.executable)) or shutil.which("vela")
    if vela is None:
        raise SystemExit("the vela command is not installed (pip install 'edgeinspect[export]')")
    work = Path(tempfile.mkdtemp(prefix="bench-estimate-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache"), "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "adapters")])}
    inspect = [sys.executable, "-m", "edgeinspect.cli", "inspect", str(PTE), "--tosa", str(DUMPS), "--estimate", "--format", "json"]
    # An untimed run checks the document: four estimates, none missing.
    doc = json.loads(subprocess.run(inspect + ["--no-cache"], env=env, check=True, capture_output=True, text=True).stdout)
    estimates = [d["estimate"] for d in doc["methods"][0]["delegates"]]
    assert len(estimates) == 4 and all(estimates), [d.get("estimate_error") for d in doc["methods"][0]["delegates"]]
    subprocess.run(inspect, env=env, check=True, stdout=subprocess.DEVNULL)  # warm the cache

    figures: dict[str, list[float]] = {"vela": [], "uncached": [], "cached": []}
    try:
        for _ in range(args.runs):
            t0 = time.perf_counter()
            for i, (dump, flags) in enumerate(jobs):
                out = work / f"vela{i}"
                subprocess.run(
                    [vela, str(dump), *flags, "--verbose-performance", "--output-dir", str(out)],
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            figures["vela"].append(time.perf_counter() - t0)
            figures["uncached"].append(_timed(inspect + ["--no-cache"], env))
            figures["cached"].append(_timed(inspect, env))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in figures.items()}
    cycles = [e["cycles_total"] for e in estimates]
    print(f"program: {PTE.name}, {PTE.stat().st_size:,} B, {len(jobs)} Ethos-U delegates, predicted cycles {cycles}")
    print(f"machine: {os.cpu_count()} cores; medians of {args.runs} fresh processes per figure")
    print()
    print("| figure | time | vela one after another / this |")
    print("|---|---|---|")
    print(f"| vela command on the {len(jobs)} dumps, one after another | {med['vela']:.2f} s | 1.00x |")
    print(f"| `inspect --estimate --no-cache` (whole process) | {med['uncached']:.2f} s | {med['vela'] / med['uncached']:.2f}x |")
    print(f"| `inspect --estimate`, cached (whole process) | {med['cached']:.2f} s | {med['vela'] / med['cached']:.2f}x |")
    print()
    verdict = "no slower" if med["uncached"] <= med["vela"] else "SLOWER"
    print(f"uncached: {verdict} than vela one after another; cached second run {'under' if med['cached'] < 0.5 else 'OVER'} 0.5 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
