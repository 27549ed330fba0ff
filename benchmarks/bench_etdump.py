"""Reading and joining a large ETDump, as a whole process, against ExecuTorch's own deserializer.

``python benchmarks/bench_etdump.py [--runs N] [--inspector]`` measures, in one run and each in
a FRESH process (median of ``--runs``):

- edgeinspect, the Python API: ``edgeinspect.load(pte)``, ``edgeinspect.load_etdump(etdp)``,
  ``profile_method(...)`` (every event read and joined to its instruction): the whole process
  and its peak RSS, plus the read + join call alone;
- edgeinspect, the command: ``edgeinspect inspect PTE --etdump ETDP --format json`` (the JSON
  with a profile on all 20,480 instructions), the whole process and its peak RSS;
- executorch: ``deserialize_from_etdump_flatcc(open(etdp).read())`` (the process also imports
  torch): the whole process, the call alone, and its peak RSS;
- with ``--inspector``, the devtools ``Inspector(etdump_path=...)`` too (slow).

The ETDump is recorded once with ExecuTorch's runtime from ``make_programs.py``'s
``many_instructions`` program (20,480 kernel instructions; each logs ``native_call_<op>``
inside ``OPERATOR_CALL``), 5 executions, and cached in ``benchmarks/.cache``. Making it needs
the ``export`` extra; measuring our side does not. Peak RSS is each child's ``VmHWM`` at exit,
as in ``bench_load.py``. Targets (issue 9): the whole process at least 10x faster than
executorch's deserializer, peak RSS under 100 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RUNS = 5

OURS = """
import sys, time, json
t0 = time.perf_counter()
import edgeinspect
from edgeinspect.analysis import profile_method
t1 = time.perf_counter()
program = edgeinspect.load(sys.argv[1])
etdump = edgeinspect.load_etdump(sys.argv[2])
profile = profile_method(program.method("forward"), etdump)
t2 = time.perf_counter()
events = sum(b.num_events for b in etdump.run_blocks)
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "events": events, "runs": profile.runs,
                  "timed_instructions": len(profile.instructions)}))
"""

EXECUTORCH = """
import sys, time, json
t0 = time.perf_counter()
from executorch.devtools.etdump.serialize import deserialize_from_etdump_flatcc
t1 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    etdump = deserialize_from_etdump_flatcc(f.read())
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "events": sum(len(r.events or []) for r in etdump.run_data)}))
"""

INSPECTOR = """
import sys, time, json, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
from executorch.devtools import Inspector
from executorch.devtools.inspector._inspector_utils import TimeScale
t1 = time.perf_counter()
inspector = Inspector(etdump_path=sys.argv[1], source_time_scale=TimeScale.NS, target_time_scale=TimeScale.NS)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "blocks": len(inspector.event_blocks)}))
"""

MAKE_ETDUMP = """
import sys, edgeinspect
from edgeinspect.export.profile import run_profile
with edgeinspect.load(sys.argv[1]) as program:
    run_profile(program, "forward", sys.argv[2], runs=int(sys.argv[3]))
"""


def etdump_path() -> Path:
    return CACHE / "many_instructions.etdp"


def make_etdump(env: dict[str, str]) -> dict:
    """Record the ETDump (once) and return its summary."""
    sys.path.insert(0, str(HERE))
    import make_programs

    info = make_programs.make("many_instructions")
    etdp = etdump_path()
    meta = etdp.with_suffix(".etdp.json")
    if etdp.exists() and meta.exists():
        return json.loads(meta.read_text())
    subprocess.run(
        [sys.executable, "-c", MAKE_ETDUMP, str(make_programs.path_of("many_instructions")), str(etdp), str(RUNS)], env=env, check=True
    )
    summary = {"instructions": info["instructions"], "runs": RUNS, "file_bytes": etdp.stat().st_size}
    meta.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure (median); default 5")
    parser.add_argument("--inspector", action="store_true", help="also measure the devtools Inspector (slow)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    from bench_load import PEAK, _mb, _medians, _ratio, _s, run_child

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONHASHSEED"] = "0"
    # Our children run this checkout's edgeinspect, whatever the environment has installed.
    ours_env = dict(env, PYTHONPATH=str(HERE.parent))
    info = make_etdump(ours_env)
    import make_programs

    pte, etdp = str(make_programs.path_of("many_instructions")), str(etdump_path())
    py = sys.executable
    commands: dict[str, tuple[list[str], dict[str, str], bool]] = {
        "ours_api": ([py, "-c", PEAK + OURS, pte, etdp], ours_env, True),
        "ours_cli": (
            [
                py,
                "-c",
                PEAK + "import sys\nfrom edgeinspect.cli import main\nsys.exit(main())",
                "inspect",
                pte,
                "--etdump",
                etdp,
                "--format",
                "json",
            ],
            ours_env,
            False,
        ),
    }
    if importlib.util.find_spec("executorch"):
        commands["executorch"] = ([py, "-c", PEAK + EXECUTORCH, etdp], env, True)
        if args.inspector:
            commands["inspector"] = ([py, "-c", PEAK + INSPECTOR, etdp], env, True)
    # Once, untimed: the inspect document carries a profile on every instruction.
    check = [py, "-m", "edgeinspect.cli", "inspect", pte, "--etdump", etdp, "--format", "json"]
    doc = json.loads(subprocess.run(check, env=ours_env, capture_output=True, check=True).stdout)
    profiled = sum("profile" in i for i in doc["methods"][0]["instructions"])
    if profiled != info["instructions"]:
        raise RuntimeError(f"inspect --etdump profiled {profiled} instructions, expected {info['instructions']}")
    samples: dict[str, list[dict]] = {k: [] for k in commands}
    for _ in range(args.runs):  # the tools take turns, so load on the machine falls on all alike
        for k, (argv_k, env_k, capture) in commands.items():
            print(f"  {k} ...", file=sys.stderr, flush=True)
            samples[k].append(run_child(argv_k, env_k, capture=capture))
    fig = {k: _medians(v) for k, v in samples.items()}

    ours, cli = fig["ours_api"], fig["ours_cli"]
    et = fig.get("executorch") or {}
    ins = fig.get("inspector") or {}
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"median of {args.runs} fresh processes per figure.\n"
    )
    print(
        f"### many_instructions.etdp: {info['file_bytes'] / 1e6:.1f} MB, {info['instructions']:,} instructions x {info['runs']} runs, "
        f"{int(ours['events']):,} events\n"
    )
    print(
        "| figure | edgeinspect API (read + join) | edgeinspect `inspect --etdump --format json` "
        "| executorch `deserialize_from_etdump_flatcc` | devtools `Inspector` | executorch / ours (API) |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| whole process | {_s(ours['wall'])} | {_s(cli['wall'])} | {_s(et.get('wall'))} | {_s(ins.get('wall'))} "
        f"| {_ratio(et.get('wall'), ours['wall'])} |"
    )
    print(
        f"| the call alone | {_s(ours['load'])} | - | {_s(et.get('load'))} | {_s(ins.get('load'))} "
        f"| {_ratio(et.get('load'), ours['load'])} |"
    )
    print(
        f"| peak RSS | {_mb(ours['rss_mb'])} | {_mb(cli['rss_mb'])} | {_mb(et.get('rss_mb'))} | {_mb(ins.get('rss_mb'))} "
        f"| {_ratio(et.get('rss_mb'), ours['rss_mb'])} |"
    )
    print()
    print("Targets:")
    if et:
        r = et["wall"] / ours["wall"]
        print(
            f"- read + join as a whole process >= 10x faster than executorch's deserializer: {r:.1f}x -> {'MET' if r >= 10 else 'NOT MET'}"
        )
        r = et["wall"] / cli["wall"]
        print(f"- (the same with the whole `inspect --etdump --format json` command: {r:.1f}x)")
    rss = max(ours["rss_mb"], cli["rss_mb"])
    print(f"- peak RSS < 100 MB (API and inspect): {rss:.0f} MB -> {'MET' if rss < 100 else 'NOT MET'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"etdump": info, "figures": fig}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
