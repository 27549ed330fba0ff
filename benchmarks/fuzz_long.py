"""Long fuzz run over every reader, payload decoder and the layers above them (tests/fuzz/fuzz_targets.py).

Engines: ``atheris`` (libFuzzer, coverage-guided, one subprocess per target, seeded with the
fixtures) when it is installed, else ``hypothesis`` (random mutations of the fixtures, fresh
randomness each run). Every input must parse or raise FormatError; a crash is saved under
``--out`` with the target name, and the run exits 1.

Run: ``python benchmarks/fuzz_long.py [--seconds 60] [--engine auto|atheris|hypothesis] [--target pte ...]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))


def _hypothesis(target, seconds: float, out: Path) -> tuple[int, str | None]:
    """Run hypothesis in batches until ``seconds`` pass; returns (inputs tried, failure or None)."""
    from fuzz_targets import check, mutate
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    ops = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1 << 24), st.integers(0, 255)), min_size=1, max_size=16)
    tried = 0
    last: list[bytes] = [b""]

    @settings(max_examples=500, deadline=5000, database=None, suppress_health_check=list(HealthCheck))
    @given(seed=st.sampled_from(target.seeds), ops=ops)
    def batch(seed, ops):
        nonlocal tried
        data = mutate(seed, ops)
        last[0] = data
        tried += 1
        check(target, data)

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            batch()
        except Exception as err:  # a finding: keep the input
            path = out / f"crash-{target.name}-{int(time.time())}.bin"
            path.write_bytes(last[0])
            return tried, f"{type(err).__name__}: {err} (input saved to {path})"
    return tried, None


def _atheris_child(name: str, seconds: int, corpus: str) -> None:
    """Runs inside a subprocess: libFuzzer owns the process and exits when done."""
    import atheris

    with atheris.instrument_imports(include=["edgeinspect"]):
        from fuzz_targets import check, layer_targets, targets

    target = next(t for t in targets() + layer_targets() if t.name == name)

    def one_input(data: bytes) -> None:
        check(target, data)

    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048", corpus], one_input)
    atheris.Fuzz()


def _atheris(target, seconds: int, out: Path) -> tuple[int, str | None]:
    corpus = Path(tempfile.mkdtemp(prefix=f"corpus-{target.name}-"))
    for i, seed in enumerate(target.seeds):
        (corpus / f"seed{i}").write_bytes(seed)
    proc = subprocess.run(
        [sys.executable, __file__, "--atheris-child", target.name, "--seconds", str(seconds), "--corpus", str(corpus)],
        cwd=out,
        capture_output=True,
        text=True,
    )
    runs = 0
    for line in proc.stderr.splitlines():
        fields = line.split()
        if len(fields) > 1 and fields[0].startswith("#") and fields[1] == "DONE":
            runs = int(fields[0][1:])
    if proc.returncode != 0:
        return runs, proc.stderr.strip()[-3000:]
    return runs, None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60, help="per target (default 60)")
    ap.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    ap.add_argument("--target", action="append", help="only these targets (default: all)")
    ap.add_argument("--out", default=".", help="where crash inputs are saved")
    ap.add_argument("--atheris-child", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.atheris_child:
        _atheris_child(args.atheris_child, args.seconds, args.corpus)
        return 0

    from fuzz_targets import layer_targets, targets

    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    chosen = [t for t in targets() + layer_targets() if not args.target or t.name in args.target]
    failed = 0
    for target in chosen:
        start = time.monotonic()
        runs, failure = (_atheris if engine == "atheris" else _hypothesis)(target, args.seconds, out)
        took = time.monotonic() - start
        status = "FAIL" if failure else "ok"
        print(f"{target.name:<14} {engine:<10} {runs:>9,} inputs in {took:6.1f} s  ({runs / max(took, 1e-9):,.0f}/s)  {status}")
        if failure:
            failed += 1
            print("  " + failure.replace("\n", "\n  "))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
