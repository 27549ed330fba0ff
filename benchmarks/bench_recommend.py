"""How the recommender's cost grows with the number of delegate calls (issue 12, item 2).

Programs are synthesized (tests/fuzz/crafted.py writes valid .pte flatbuffers without torch):
``islands + 1`` XNNPACK delegate calls with one CPU kernel between each two, the shape that
makes every CPU operator a splitter, so the recommender asks one counterfactual per operator.

- ``16 operators``: the kernels cycle through 16 distinct operators;
- ``distinct``: every island has its own operator (as many counterfactuals as islands);
- ``skip``: ``distinct``, and every delegate also feeds the last one directly, so all delegate
  calls form one connected group that each counterfactual partitions again (the worst case
  measured: cost grows with instructions x distinct operators).

For each, ``recommend()`` is timed at 1k, 2k and 4k delegate calls (best of ``--runs``, in
this process, as CPU time: on a shared machine other jobs distort wall time, not the work done)
and the time per delegate call is printed with its growth from the size before: about 1.0x
means linear. ``--old`` also times the first implementation of the counterfactual
(tests/recommend/reference_counterfactual.py) on the 400- and 1000-island ``distinct`` programs
(the 48 KB and 120 KB programs of the issue); it takes minutes.

Run: ``python benchmarks/bench_recommend.py [--runs 3] [--old]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
sys.path.insert(0, str(ROOT / "tests" / "recommend"))

SIZES = (1000, 2000, 4000)


def skip_pte(islands: int) -> bytes:
    """``alternating_pte(islands)`` where every delegate also feeds the last delegate call."""
    from crafted import build_pte, tensor

    values = [tensor(1, 16)]
    instructions = []
    current, delegate_outputs = 0, []
    for i in range(islands):
        out, nxt = len(values), len(values) + 1
        values += [tensor(1, 16), tensor(1, 16)]
        instructions += [("delegate", i, (current, out)), ("kernel", i, (out, nxt, nxt))]
        delegate_outputs.append(out)
        current = nxt
    final = len(values)
    values.append(tensor(1, 16))
    instructions.append(("delegate", islands, (current, *delegate_outputs, final)))
    operators = [(f"custom::op_{k}", "out") for k in range(islands)]
    delegates = [("XnnpackBackend", b"", [])] * (islands + 1)
    return build_pte(values=values, instructions=instructions, operators=operators, delegates=delegates, inputs=(0,), outputs=(final,))


def programs(islands: int) -> dict[str, bytes]:
    from crafted import alternating_pte

    return {
        "16 operators": alternating_pte(islands, distinct=16),
        "distinct": alternating_pte(islands),
        "skip": skip_pte(islands),
    }


def time_recommend(data: bytes, runs: int, counterfactual=None) -> tuple[float, int]:
    """CPU seconds of ``recommend()`` on a freshly loaded program (best of ``runs``), and the recommendations."""
    import edgeinspect
    from edgeinspect.recommend import recommend
    from edgeinspect.recommend import recommender as module

    original = module.counterfactual
    if counterfactual is not None:
        module.counterfactual = counterfactual
    try:
        times = []
        for _ in range(runs):
            program = edgeinspect.load(data, name="bench.pte")  # a new Method: nothing cached
            t0 = time.process_time()
            recs = recommend(program)
            times.append(time.process_time() - t0)
    finally:
        module.counterfactual = original
    return min(times), len(recs)  # the least disturbed run (the machine is shared)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the best is kept)")
    parser.add_argument("--old", action="store_true", help="also time the first implementation on the issue's programs")
    args = parser.parse_args(argv)
    rows: dict[str, list[tuple[int, int, float, int]]] = {}
    for islands in SIZES:
        for name, data in programs(islands).items():
            seconds, n = time_recommend(data, args.runs)
            rows.setdefault(name, []).append((islands + 1, len(data), seconds, n))
    print("| program | delegate calls | file | recommendations | recommend() CPU time | per delegate call | growth per call |")
    print("|---|---|---|---|---|---|---|")
    for name, entries in rows.items():
        previous = None
        for calls, size, seconds, n in entries:
            per_call = seconds / calls
            growth = f"{per_call / previous:.2f}x" if previous else "-"
            print(f"| {name} | {calls:,} | {size / 1024:.0f} KB | {n:,} | {seconds:.3f} s | {per_call * 1e6:.0f} us | {growth} |")
            previous = per_call
    if args.old:
        import reference_counterfactual
        from crafted import alternating_pte

        print()
        print("| program | file | first implementation | now | speed-up |")
        print("|---|---|---|---|---|")
        for islands in (400, 1000):
            data = alternating_pte(islands)
            new, _ = time_recommend(data, args.runs)
            old, _ = time_recommend(data, 1, reference_counterfactual.counterfactual)
            print(f"| distinct, {islands} islands | {len(data) / 1024:.0f} KB | {old:.1f} s | {new:.3f} s | {old / new:,.0f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
