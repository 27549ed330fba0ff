"""``edgeinspect lint FILE|DIR ...``: the pre-merge lint (see docs/lint.md).

Exit codes: 0 clean, 1 findings (an unreadable or corrupt model is finding EI001),
2 usage or tool error (bad option or configuration, missing path, internal error);
``--exit-zero`` turns 1 into 0 and never hides a 2. Machine formats print only their
document on stdout, tool errors included; the text format prints tool errors on stderr.

Imports stay light: nothing here (or on the lint path) imports torch.
"""

from __future__ import annotations

import argparse
import sys

from edgeinspect.commands import add_evidence_options, add_tosa_option
from edgeinspect.outputs import same_file
from edgeinspect.textsafe import TEXT_LIMIT, safe

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    from edgeinspect.lint.output import FORMATS

    p = sub.add_parser(
        "lint",
        help="fail when a model's delegated graph fragments (CI lint)",
        description="Lint .pte/.tosa files (directories are walked) for fragmented delegation, CPU islands, "
        "threshold breaches, baseline regressions and leaked paths. Exit 0 clean, 1 findings, 2 usage/tool error.",
    )
    p.add_argument("paths", nargs="*", metavar="FILE|DIR", help="model files or directories")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("-o", "--output-file", metavar="F", help="write the document to F instead of stdout")
    p.add_argument("--config", metavar="F", help="configuration file (default: edgeinspect.toml or pyproject.toml found upwards)")
    p.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    p.add_argument("--select", action="append", metavar="CODES", help="only these rules (codes or prefixes, comma-separated)")
    p.add_argument("--ignore", action="append", metavar="CODES", help="skip these rules (codes or prefixes, comma-separated)")
    p.add_argument(
        "--severity", action="append", metavar="CODE=LEVEL", help="set a rule's severity: error, warning or note (notes never fail)"
    )
    p.add_argument(
        "--max-delegates", action="append", metavar="[BACKEND=]N", help="delegated subgraphs allowed per backend (default 1; repeatable)"
    )
    p.add_argument("--max-transitions", metavar="N", help="CPU<->backend transitions allowed per method")
    p.add_argument("--min-coverage", metavar="X", help="minimum delegated fraction of operators (0.9 or 90%%)")
    p.add_argument(
        "--max-boundary-bytes", action="append", metavar="[BACKEND=]N", help="bytes allowed across delegate boundaries per method"
    )
    p.add_argument(
        "--max-cpu-share",
        metavar="X",
        help="share of the profiled method's execute time allowed outside delegates (0.2 or 20%%; needs an ETDump: "
        "--etdump F, or <stem>.etdp beside each .pte)",
    )
    p.add_argument(
        "--max-scratch-bytes",
        action="append",
        metavar="[TARGET=]N",
        help="scratch (arena) bytes an Ethos-U delegate may ask for, from its payload (per target, e.g. ethos-u55-128=262144; repeatable)",
    )
    p.add_argument(
        "--max-sram-bytes",
        action="append",
        metavar="[TARGET=]N",
        help="SRAM bytes Vela may estimate for an Ethos-U delegate (needs --estimate; per target; repeatable)",
    )
    p.add_argument("--exclude", action="append", metavar="GLOB", help="skip files under directories that match (repeatable)")
    p.add_argument("--baseline", metavar="F", help="fail only on regressions against this baseline")
    p.add_argument("--write-baseline", metavar="F", help="record today's figures into F, then lint against it")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings (never hides exit code 2)")
    p.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    add_tosa_option(p)
    add_evidence_options(
        p,
        method=True,
        etrecord_help="with one FILE: its ETRecord, so findings point at the module and line of your model (SARIF, GitHub "
        "annotations, text file:line); needs edgeinspect[export]; loading it runs torch deserialization: only pass files you trust",
    )
    p.add_argument(
        "--etrecords",
        action="store_true",
        help="load each .pte's paired ETRecord (the configuration's etrecords table, else <stem>.etrecord beside it): "
        "torch deserialization, so only ever on this explicit request, never from a configuration",
    )
    p.set_defaults(run=run)


def _list_rules(fmt: str) -> str:
    import json

    from edgeinspect.lint.rules import RULES

    if fmt == "json":
        rules = [
            {"code": r.code, "name": r.name, "severity": r.severity, "default": r.default, "summary": r.summary, "fix": r.fix}
            for r in RULES.values()
        ]
        return json.dumps({"schema_version": 1, "rules": rules}, indent=2) + "\n"
    return "".join(f"{r.code} {r.name:<32} {r.severity:<8} {r.summary}\n" for r in RULES.values())


def run(args: argparse.Namespace) -> int:
    import edgeinspect
    from edgeinspect.errors import EdgeInspectError
    from edgeinspect.lint import LintResult, SideOptions, ToolError, lint_paths
    from edgeinspect.lint.config import Config, load_config, parse_options
    from edgeinspect.lint.output import render

    if args.list_rules:
        return _emit(_list_rules(args.format if args.format == "json" else "text"), args, ())
    try:
        if not args.paths:
            raise _Usage("no files given: edgeinspect lint FILE|DIR ... (see --help)")
        max_transitions = None
        if args.max_transitions is not None:
            try:
                max_transitions = int(args.max_transitions)
            except ValueError:
                raise _Usage(f"--max-transitions takes a whole number, got {args.max_transitions!r}") from None
        options = parse_options(
            select=args.select,
            ignore=args.ignore,
            severity=args.severity,
            max_delegates=args.max_delegates,
            max_transitions=max_transitions,
            min_coverage=args.min_coverage,
            max_boundary_bytes=args.max_boundary_bytes,
            max_cpu_share=args.max_cpu_share,
            max_scratch_bytes=args.max_scratch_bytes,
            max_sram_bytes=args.max_sram_bytes,
            exclude=args.exclude,
        )
        sides = SideOptions(
            tosa=tuple(args.tosa),
            etdump=args.etdump,
            etrecord=args.etrecord,
            etrecords=args.etrecords,
            estimate=args.estimate,
            cache=not args.no_cache,
            method=args.method or "forward",
            warmup_runs=args.warmup_runs,
        )
        config = Config() if args.isolated else load_config(args.config)
        result = lint_paths(
            args.paths,
            config.with_cli(options),
            baseline=args.baseline,
            write_baseline=args.write_baseline,
            sides=sides,
            gather=edgeinspect.gather,
        )
    except (EdgeInspectError, _Usage) as err:
        result = LintResult((), (), (ToolError(str(err)),))
    except Exception as err:  # internal error: still one message, in the chosen format
        import os

        if os.environ.get("EDGEINSPECT_DEBUG"):
            raise
        result = LintResult((), (), (ToolError(f"internal error: {type(err).__name__}: {err} (set EDGEINSPECT_DEBUG=1 for a traceback)"),))
    code = result.exit_code(exit_zero=args.exit_zero)
    stderr_lines = (
        [f"edgeinspect: error: {safe(e.message, TEXT_LIMIT)}" for e in result.errors] if args.format == "text" or args.output_file else ()
    )
    sides_read = [p for p in (args.etdump, args.etrecord) if p] + list(args.tosa)
    inputs = [f.path for f in result.files] + [p for p in (result.baseline, args.config) if p and p != args.write_baseline] + sides_read
    return _emit(render(result, args.format, exit_zero=args.exit_zero), args, stderr_lines, code, inputs)


class _Usage(Exception):
    """A bad command line found after argparse (rendered as a tool error, exit 2)."""


def _emit(
    document: str,
    args: argparse.Namespace,
    stderr_lines: tuple[str, ...] | list[str],
    code: int = 0,
    inputs: tuple[str, ...] | list[str] = (),
) -> int:
    from edgeinspect.errors import UsageError
    from edgeinspect.outputs import write_output

    for line in stderr_lines:
        print(line, file=sys.stderr)
    if args.output_file:
        try:
            if args.write_baseline and same_file(args.output_file, args.write_baseline):
                raise UsageError(f"-o {args.output_file!r} is the file --write-baseline writes; choose another path")
            write_output(args.output_file, document, inputs=inputs, what="lint document")
        except UsageError as err:
            print(f"edgeinspect: error: {safe(str(err), TEXT_LIMIT)}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(document)
        sys.stdout.flush()
    return code
