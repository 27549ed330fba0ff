"""Load time, whole-process time and peak memory of edgeinspect against executorch and pte-adapter.

``python benchmarks/bench_load.py [--runs N] [--program NAME ...]`` measures, in one run and
each in a FRESH process (median of ``--runs``):

- ``edgeinspect.load``: the load call alone, and the peak RSS of that process;
- ``edgeinspect inspect FILE --format json``: the whole process, wall clock and peak RSS;
- executorch's ``deserialize_pte_binary`` (file read + parse; the process also imports torch):
  the call alone, the call plus its import, the whole process and its peak RSS;
- Arm's ``pte-adapter-model-explorer`` (``PteGraphBuilder(path, {}).graph_collections``, what its
  Model Explorer ``convert`` returns): the conversion alone, the whole process and its peak RSS,

on the programs of ``make_programs.py`` (exported first when missing), then prints a Markdown
table with ratios (their figure / ours: above 1 means we are faster or smaller).

Peak RSS is the child's own high-water mark (``VmHWM`` of ``/proc/self/status`` at exit). The pte-adapter runs in its
own venv (``benchmarks/setup_pte_adapter.sh``): it needs flatbuffers>25.9, which tosa-tools
forbids in the main one. A tool that is not installed is reported as ``n/a``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
PTE_ADAPTER_PYTHON = CACHE / "venv-pte-adapter" / "bin" / "python"
PROGRAMS = ("many_instructions", "big_weights", "many_delegates")

# Every child reports its own peak RSS at exit, from /proc/self/status (VmHWM): ru_maxrss
# of a child would also count the benchmark process's own peak, which Linux carries over
# fork and exec. (ru_maxrss is the fallback where /proc is missing.)
PEAK = """
import atexit, sys
def _peak():
    try:
        with open("/proc/self/status") as f:
            kb = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    except OSError:
        return
    sys.stderr.write("\\nPEAK_RSS_KB " + kb + "\\n")
atexit.register(_peak)
"""

# Each child prints one JSON line with its in-process timings (seconds).
OURS_LOAD = """
import sys, time, json
t0 = time.perf_counter()
import edgeinspect
t1 = time.perf_counter()
program = edgeinspect.load(sys.argv[1])
t2 = time.perf_counter()
n = sum(len(m.instructions) for m in program.methods)
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "instructions": n}))
"""

EXECUTORCH_LOAD = """
import sys, time, json
t0 = time.perf_counter()
from executorch.exir._serialize._program import deserialize_pte_binary
t1 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    data = f.read()
program = deserialize_pte_binary(data)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1}))
"""

EDGEINSPECT_CLI = """
import sys
from edgeinspect.cli import main
sys.exit(main())
"""

PTE_ADAPTER_LOAD = """
import sys, time, json
from pathlib import Path
t0 = time.perf_counter()
from pte_adapter_model_explorer.builder.builder import PteGraphBuilder
t1 = time.perf_counter()
collections = PteGraphBuilder(Path(sys.argv[1]), {}).graph_collections
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1}))
"""


def run_child(argv: list[str], env: dict[str, str] | None = None, *, capture: bool = True) -> dict:
    """Run one fresh process; return its wall time, peak RSS (MB) and the JSON it printed.

    With ``capture=False`` its stdout goes to /dev/null, so the figure is the cost of the
    process itself and not of a reader draining a pipe (as ``edgeinspect ... > out.json``).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    # Drain the pipes before waiting, so a big document cannot block the child.
    out = proc.stdout.read() if capture else b""
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{argv[:3]} failed ({code}): {err.decode(errors='replace')[-2000:]}")
    peak_kb = [line.split()[1] for line in err.decode(errors="replace").splitlines() if line.startswith("PEAK_RSS_KB ")]
    result = {"wall": wall, "rss_mb": (int(peak_kb[-1]) if peak_kb else usage.ru_maxrss) / 1024}
    last = out.strip().rsplit(b"\n", 1)[-1] if out.strip() else b""
    if last.startswith(b"{"):
        result.update(json.loads(last))
    return result


def check_inspect_output(argv: list[str], env: dict[str, str], instructions: int) -> None:
    """Once, untimed: the ``inspect --format json`` document parses and lists every instruction."""
    doc = json.loads(subprocess.run(argv, env=env, capture_output=True, check=True).stdout)
    found = sum(len(m["instructions"]) for m in doc["methods"])
    if found != instructions:
        raise RuntimeError(f"inspect listed {found} instructions, expected {instructions}")


def _medians(samples: list[dict]) -> dict:
    keys = [k for k, v in samples[0].items() if isinstance(v, (int, float))]
    return {k: statistics.median(s[k] for s in samples) for k in keys}


def measure(pte: Path, runs: int, instructions: int) -> dict[str, dict | None]:
    """All figures for one program: medians over ``runs`` fresh processes per tool.

    The tools take turns (one run of each, ``runs`` times) so that a machine shared with
    other work slows all of them alike rather than whichever happened to run during a spike.
    """
    import importlib.util

    py = sys.executable
    # The children must not inherit a Python path pointing into another environment.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONHASHSEED"] = "0"
    commands: dict[str, list[str] | None] = {
        "ours_load": [py, "-c", PEAK + OURS_LOAD, str(pte)],
        # What the installed `edgeinspect` script runs, plus the peak-RSS report.
        "ours_inspect": [py, "-c", PEAK + EDGEINSPECT_CLI, "inspect", str(pte), "--format", "json"],
        "executorch": [py, "-c", PEAK + EXECUTORCH_LOAD, str(pte)] if importlib.util.find_spec("executorch") else None,
        "pte_adapter": [str(PTE_ADAPTER_PYTHON), "-c", PEAK + PTE_ADAPTER_LOAD, str(pte)] if PTE_ADAPTER_PYTHON.exists() else None,
    }
    check_inspect_output(commands["ours_inspect"], env, instructions)
    samples: dict[str, list[dict]] = {k: [] for k, argv in commands.items() if argv}
    for _ in range(runs):
        for k in samples:
            samples[k].append(run_child(commands[k], env, capture=k != "ours_inspect"))
    return {k: _medians(samples[k]) if k in samples else None for k in commands}


def _s(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def _mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0f} MB"


def _ratio(theirs: float | None, ours: float | None) -> str:
    if theirs is None or not ours:
        return "n/a"
    return f"{theirs / ours:.1f}x"


def table(name: str, info: dict, fig: dict[str, dict | None]) -> str:
    """Markdown table of one program: rows are figures, columns are tools, then ratios."""
    ours_l, ours_i = fig["ours_load"], fig["ours_inspect"]
    et, pa = fig["executorch"] or {}, fig["pte_adapter"] or {}

    def g(d: dict, k: str) -> float | None:
        return d.get(k)

    et_import_load = (et["import"] + et["load"]) if et else None
    lines = [
        f"### {name}: {info['file_bytes'] / 1e6:.1f} MB, {info['instructions']:,} instructions, {info['delegate_calls']} delegate calls",
        "",
        "| figure | edgeinspect | executorch `deserialize_pte_binary` | pte-adapter | executorch / ours | pte-adapter / ours |",
        "|---|---|---|---|---|---|",
        f"| load (call only) | {_s(ours_l['load'])} | {_s(g(et, 'load'))} | {_s(g(pa, 'load'))} "
        f"| {_ratio(g(et, 'load'), ours_l['load'])} | {_ratio(g(pa, 'load'), ours_l['load'])} |",
        f"| load incl. its imports | {_s(ours_l['import'] + ours_l['load'])} | {_s(et_import_load)} "
        f"| {_s((pa['import'] + pa['load']) if pa else None)} "
        f"| {_ratio(et_import_load, ours_l['import'] + ours_l['load'])} "
        f"| {_ratio((pa['import'] + pa['load']) if pa else None, ours_l['import'] + ours_l['load'])} |",
        f"| whole process: `inspect --format json` vs theirs | {_s(ours_i['wall'])} | {_s(g(et, 'wall'))} | {_s(g(pa, 'wall'))} "
        f"| {_ratio(g(et, 'wall'), ours_i['wall'])} | {_ratio(g(pa, 'wall'), ours_i['wall'])} |",
        f"| whole process: `load` only | {_s(ours_l['wall'])} | {_s(g(et, 'wall'))} | {_s(g(pa, 'wall'))} "
        f"| {_ratio(g(et, 'wall'), ours_l['wall'])} | {_ratio(g(pa, 'wall'), ours_l['wall'])} |",
        f"| peak RSS: `inspect --format json` | {_mb(ours_i['rss_mb'])} | {_mb(g(et, 'rss_mb'))} | {_mb(g(pa, 'rss_mb'))} "
        f"| {_ratio(g(et, 'rss_mb'), ours_i['rss_mb'])} | {_ratio(g(pa, 'rss_mb'), ours_i['rss_mb'])} |",
        f"| peak RSS: `load` only | {_mb(ours_l['rss_mb'])} | {_mb(g(et, 'rss_mb'))} | {_mb(g(pa, 'rss_mb'))} "
        f"| {_ratio(g(et, 'rss_mb'), ours_l['rss_mb'])} | {_ratio(g(pa, 'rss_mb'), ours_l['rss_mb'])} |",
    ]
    if info["instructions"] >= 100:
        lines.append("")
        lines.append(f"edgeinspect load: {ours_l['load'] / info['instructions'] * 1e6:.1f} us per instruction.")
    return "\n".join(lines)


def targets(fig_by_name: dict[str, dict]) -> list[str]:
    """The issue's three targets, each stated as met or missed with the figures."""
    out = []
    many = fig_by_name.get("many_instructions")
    if many:
        ours = many["ours_load"]["load"]
        for tool in ("executorch", "pte_adapter"):
            theirs = many[tool]["load"] if many[tool] else None
            ok = theirs is not None and theirs / ours >= 7
            out.append(f"- load >= 7x faster than {tool} on many_instructions: {_ratio(theirs, ours)} -> {'MET' if ok else 'NOT MET'}")
        for name, fig in fig_by_name.items():
            if fig["pte_adapter"]:
                r = fig["pte_adapter"]["wall"] / fig["ours_inspect"]["wall"]
                out.append(
                    f"- whole `inspect` process >= 5x faster than pte-adapter's on {name}: {r:.1f}x -> {'MET' if r >= 5 else 'NOT MET'}"
                )
    big = fig_by_name.get("big_weights")
    if big:
        rss = max(big["ours_inspect"]["rss_mb"], big["ours_load"]["rss_mb"])
        out.append(f"- peak RSS < 100 MB on big_weights (inspect and load): {rss:.0f} MB -> {'MET' if rss < 100 else 'NOT MET'}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure (median); default 5")
    parser.add_argument("--program", action="append", choices=PROGRAMS, help="only these programs")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    import make_programs

    names = args.program or list(PROGRAMS)
    infos = {n: make_programs.make(n) for n in names}
    figures = {}
    for n in names:
        print(f"measuring {n} ({args.runs} runs per tool) ...", file=sys.stderr, flush=True)
        figures[n] = measure(make_programs.path_of(n), args.runs, infos[n]["instructions"])

    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"median of {args.runs} fresh processes per figure.\n"
    )
    for n in names:
        print(table(n, infos[n], figures[n]))
        print()
    print("Targets:")
    print("\n".join(targets(figures)))
    if args.json:
        Path(args.json).write_text(json.dumps({"programs": infos, "figures": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
