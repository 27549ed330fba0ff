"""``edgeinspect sweep SPEC ... --targets T,... -o DIR``: which target fragments least (docs/sweep.md).

Exports every model for every target in worker processes (or on Ray), writes
``DIR/<model>/<target>/`` and ``DIR/sweep.json`` + ``DIR/sweep.html``, prints the side-by-side
table (or the JSON/HTML) on stdout and the progress on stderr.

Exit codes: 0 done (failed exports are rows, not errors), 1 when a threshold is given and a
pair breaks it or failed to export, 2 usage error (a bad SPEC or target, the ``export``
extra missing) or internal error. This process imports no torch: the exports run elsewhere.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["DEFAULT_TARGETS", "add_parser", "run"]

DEFAULT_TARGETS = ("ethos-u55-128", "ethos-u85-256", "xnnpack")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="export models for many targets and compare how each fragments (needs edgeinspect[export])",
        description="Export each model (SPEC: module:function, a torch.export-ed .pt2 file, or a zoo model name; NAME=SPEC "
        "names it) for each target with the real toolchain, analyse every program, and compare them side by side: "
        "delegates per backend, transitions, boundary bytes, coverage, the top splitter and its fix, Vela cycles with "
        "--estimate; the best target per model is marked. Writes DIR/<model>/<target>/ (the .pte, dumped .tosa files, "
        "ETRecord, result.json) and DIR/sweep.json, DIR/sweep.html. A rerun skips the pairs already done with the same "
        "toolchain. Exit 0 done, 1 a threshold broken (or a failed export when thresholds are given), 2 usage error.",
    )
    p.add_argument(
        "specs", nargs="*", metavar="SPEC", help="models: module:function, FILE.pt2 or a zoo name (default with --zoo builtin: all of it)"
    )
    p.add_argument(
        "--targets",
        action="append",
        metavar="T,...",
        help="targets, comma-separated or repeated: Ethos-U configurations (ethos-u55-128, ethos-u65-256, ethos-u85-256, ...), "
        f"TOSA-1.0+INT, TOSA-1.0+FP, xnnpack, xnnpack-int8, portable (default: {','.join(DEFAULT_TARGETS)})",
    )
    p.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="where DIR/<model>/<target>/ and sweep.json/.html go")
    p.add_argument("--zoo", choices=("builtin", "torchvision"), help="where zoo model names come from (default: builtin)")
    p.add_argument("--workers", type=int, metavar="N", help="export in N local processes (default: CPU count, fewer when memory is short)")
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run the exports on Ray: alone, a local cluster; 'auto' (a cluster started with `ray start --head`) or "
        "ray://host:10001 (needs edgeinspect[ray])",
    )
    p.add_argument("--estimate", action="store_true", help="add Vela's cycles for the Ethos-U targets")
    p.add_argument("--xnnpack-int8", action="store_true", help="export the xnnpack target quantized to int8 (named xnnpack-int8)")
    p.add_argument("--no-etrecord", action="store_true", help="do not write ETRecords")
    p.add_argument("--force", action="store_true", help="export every pair again, even those a previous run did")
    p.add_argument("--format", choices=("text", "json", "html"), default="text", help="what stdout gets (default: text)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--max-delegates", action="append", metavar="[BACKEND=]N", help="threshold: delegated subgraphs per backend")
    p.add_argument("--max-transitions", type=int, metavar="N", help="threshold: CPU<->backend transitions")
    p.add_argument("--min-coverage", metavar="X", help="threshold: delegated fraction of operators (0.9 or 90%%)")
    p.add_argument("--max-boundary-bytes", action="append", metavar="[BACKEND=]N", help="threshold: bytes across delegate boundaries")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when a threshold is broken")
    p.set_defaults(run=run)


def _targets(args: argparse.Namespace) -> list[str]:
    from edgeinspect.export.targets import check_target

    names = [t for item in (args.targets or [",".join(DEFAULT_TARGETS)]) for t in item.split(",") if t.strip()]
    targets = [check_target(t) for t in names]
    if args.xnnpack_int8:
        targets = ["xnnpack-int8" if t == "xnnpack" else t for t in targets]
    return list(dict.fromkeys(targets))


def run(args: argparse.Namespace) -> int:
    import importlib.util
    import os
    from pathlib import Path

    from edgeinspect.errors import UsageError
    from edgeinspect.export.specs import BUILTIN_MODELS, parse_spec
    from edgeinspect.export.sweep import run_sweep
    from edgeinspect.lint.config import parse_options
    from edgeinspect.lint.sweep import sweep_findings
    from edgeinspect.report.sweep import progress_line, sweep_html, sweep_json, sweep_text

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers takes a positive number, got {args.workers}")
    options = parse_options(
        max_delegates=args.max_delegates,
        max_transitions=args.max_transitions,
        min_coverage=args.min_coverage,
        max_boundary_bytes=args.max_boundary_bytes,
    )
    zoo = args.zoo or "builtin"
    texts = list(args.specs)
    if not texts:
        if args.zoo != "builtin":
            raise UsageError(
                "no SPEC given: name models (module:function, FILE.pt2, a zoo name), or sweep the whole built-in zoo with --zoo builtin"
            )
        texts = list(BUILTIN_MODELS)
    specs = [parse_spec(t, zoo=zoo) for t in texts]
    targets = _targets(args)
    missing = [m for m in ("torch", "executorch") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"sweep exports with {' and '.join(missing)}: pip install 'edgeinspect[export]'")

    exported = 0

    def progress(event) -> None:
        nonlocal exported
        if event.kind == "finished" and event.row is not None and not event.row.resumed:
            exported += 1
        if args.quiet:
            return
        line = progress_line(
            event.kind,
            event.done,
            event.total,
            event.elapsed,
            model=event.model,
            target=event.target,
            row=event.row,
            message=event.message,
            exported=exported,
        )
        print(f"edgeinspect sweep {line}", file=sys.stderr, flush=True)

    result = run_sweep(
        specs,
        targets,
        args.output_dir,
        workers=args.workers,
        ray=args.ray is not None,
        ray_address=args.ray or None,
        estimate=args.estimate,
        etrecord=not args.no_etrecord,
        force=args.force,
        progress=progress,
    )
    doc = result.to_dict()
    failing = 0
    if options:
        findings = sweep_findings(result.rows, args.output_dir, options)
        doc["thresholds"] = options
        doc["findings"] = [f.to_dict() for f in findings]
        failing = sum(1 for f in findings if f.severity != "note") + sum(1 for r in result.rows if not r.ok)
    out = Path(args.output_dir)
    for name, text in (("sweep.json", sweep_json(doc)), ("sweep.html", sweep_html(doc))):
        partial = out / f".{name}.{os.getpid()}.tmp"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out / name)
    render = {"text": sweep_text, "json": sweep_json, "html": sweep_html}[args.format]
    sys.stdout.write(render(doc))
    sys.stdout.flush()
    if not args.quiet:
        print(f"edgeinspect sweep: wrote {out / 'sweep.json'} and {out / 'sweep.html'}", file=sys.stderr)
    return 1 if failing and not args.exit_zero else 0
