"""Fuzz targets over every reader and payload decoder, shared by tests/fuzz and benchmarks/fuzz_long.py.

A target takes bytes and must either succeed or raise :class:`edgeinspect.FormatError`;
anything else (IndexError, struct.error, RecursionError, MemoryError, a hang) is a bug.
Each target exercises more than the parse: the figures the lint computes, the graph,
the report, so a hostile-but-parseable file cannot crash the layers above either.

Adding a payload decoder is one line in :data:`DECODERS`: (target name, module,
function, backend ids whose payloads seed it). The .pte target also holds the reader's fast
path to its checked accessors: every input must read to the same program, or fail the same way.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edgeinspect
from edgeinspect.errors import FormatError
from edgeinspect.formats import detect_format
from edgeinspect.formats.payloads import decode_delegate
from edgeinspect.report.tosa import tosa_dict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for ei_testutil (benchmarks/fuzz_long.py too)
from ei_testutil import assert_fast_path_agrees  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"

#: (target name, module, function taking the payload bytes, backend ids that seed it).
DECODERS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("xnnpack", "edgeinspect.formats.xnnpack", "decode_xnnpack", ("XnnpackBackend",)),
    ("ethosu", "edgeinspect.formats.ethosu", "decode_ethosu", ("EthosUBackend",)),
    ("tosa-payload", "edgeinspect.formats.tosa", "parse_tosa", ("TOSABackend",)),
]


@dataclass(frozen=True)
class Target:
    """One fuzz target: a name, seed inputs, and the function under test."""

    name: str
    seeds: tuple[bytes, ...]
    run: Callable[[bytes], object]


def _exercise_pte(data: bytes) -> None:
    from edgeinspect.analysis.figures import method_figures
    from edgeinspect.lint.config import Settings
    from edgeinspect.lint.rules import check_method, check_program

    if detect_format(data) == "pte":
        assert_fast_path_agrees(data, "fuzz.pte")
    program = edgeinspect.load(data, name="fuzz.pte")
    settings = Settings(max_transitions=0, min_coverage=1.0, max_boundary_bytes=(("*", 0),))
    try:
        check_program(program, "fuzz.pte")
        for method in program.methods:
            check_method(method, method_figures(method), settings, "fuzz.pte")
            method.to_networkx()
        _decode_payloads(program)
    finally:
        program.close()


def _decode_payloads(program: edgeinspect.Program) -> None:
    """Run the generic payload decoder over every delegate."""
    for d in program.delegates:
        with contextlib.suppress(FormatError):
            decode_delegate(d)


def _exercise_tosa(data: bytes) -> None:
    graph = edgeinspect.load(data, name="fuzz.tosa")
    graph.to_networkx()
    tosa_dict(graph)


def _exercise_etdump(data: bytes) -> None:
    """Read every event of every kind, then join the file to each program an ETDump fixture
    profiles and render the result: the join may say the file does not belong (UsageError)."""
    from edgeinspect.analysis import profile_method
    from edgeinspect.analysis.evidence import Evidence
    from edgeinspect.report.render import render_inspect

    dump = edgeinspect.load_etdump(data, name="fuzz.etdp")
    for block in dump.run_blocks:
        block.profile_events()
        block.allocation_events()
        block.debug_events()
        block.event_counts()
    for program in _etdump_programs():
        try:
            profile = profile_method(program.methods[0], dump)
        except edgeinspect.UsageError as err:
            if "does not belong" not in str(err):
                raise
            continue
        render_inspect(Evidence(program, profiles={program.methods[0].name: profile}), "text")


_PROGRAMS: list[object] = []


def _etdump_programs() -> list:
    """The programs the ETDump fixtures profile (read once)."""
    if not _PROGRAMS:
        names = sorted({json.loads(p.read_text())["pte"] for p in (DATA / "etdump").glob("*.expected.json")})
        _PROGRAMS.extend(edgeinspect.load((DATA / n).read_bytes(), name=n) for n in names)
    return _PROGRAMS


def _files(pattern: str, limit: int = 6) -> list[Path]:
    """The smallest few fixtures matching ``pattern`` (small seeds mutate into more paths per second)."""
    return sorted(DATA.glob(pattern), key=lambda p: (p.stat().st_size, p.name))[:limit]


def _payload_seeds(backends: tuple[str, ...], limit: int = 6) -> tuple[bytes, ...]:
    seeds: dict[bytes, None] = {}
    for path in sorted(DATA.glob("*.pte"), key=lambda p: p.stat().st_size):
        with edgeinspect.load(path) as program:
            for d in program.delegates:
                if d.backend_id in backends and len(seeds) < limit:
                    seeds[d.payload()] = None
    return tuple(seeds)


def targets() -> list[Target]:
    """Every target: the two file readers and each payload decoder of :data:`DECODERS`."""
    out = [
        Target("pte", tuple(p.read_bytes() for p in _files("*.pte")), _exercise_pte),
        Target("tosa", tuple(p.read_bytes() for p in _files("*.tosa.d/*.tosa")), _exercise_tosa),
        Target("etdump", tuple(p.read_bytes() for p in _files("etdump/*.etdp")), _exercise_etdump),
    ]
    for name, module, function, backends in DECODERS:
        out.append(Target(name, _payload_seeds(backends), getattr(importlib.import_module(module), function)))
    return out


INTERESTING_U32 = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF)


def mutate(seed: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Apply mutation ops ``(kind, position, value)`` to a seed; positions wrap, so any ints work.

    Kinds: 0 set a byte, 1 overwrite an aligned u32 with an interesting value, 2 truncate,
    3 duplicate a slice (aliasing-ish), 4 flip a bit, 5 delete a byte.
    """
    buf = bytearray(seed)
    for kind, pos, value in ops:
        if not buf:
            break
        pos %= len(buf)
        k = kind % 6
        if k == 0:
            buf[pos] = value & 0xFF
        elif k == 1:
            p = pos & ~3
            if p + 4 <= len(buf):
                buf[p : p + 4] = INTERESTING_U32[value % len(INTERESTING_U32)].to_bytes(4, "little")
        elif k == 2:
            del buf[pos:]
        elif k == 3:
            n = 1 + value % 64
            buf[pos:pos] = buf[pos : pos + n]
        elif k == 4:
            buf[pos] ^= 1 << (value % 8)
        else:
            del buf[pos]
    return bytes(buf)


def check(target: Target, data: bytes) -> None:
    """Run one input; re-raise anything but FormatError (with the input's size in the message)."""
    try:
        target.run(data)
    except FormatError as err:
        assert err.offset is None or err.offset >= 0, f"negative offset in {err}"


# -- the layers above the readers ------------------------------------------------------------
#: What a name in a generated program can be: real names, glue, and hostile ones.
NAMES = (
    "aten::cumsum",
    "aten::where",
    "aten::view_copy",
    "quantized_decomposed::quantize_per_tensor",
    "quantized_decomposed::dequantize_per_tensor",
    "x" * 300,
    "evil\n::error::pwned\x1b[2J\x07\x00",
    "\u202eop\u2028",
    "",
)
BACKENDS = ("XnnpackBackend", "EthosUBackend", "TOSABackend", "Weird\nBackend\x1b", "b" * 300)
#: Largest output / input ratio the layers may produce (plus a constant for tiny inputs).
OUTPUT_RATIO, OUTPUT_SLACK = 40, 200_000
_RAW = ("\x1b", "\x07", "\x00", "\r", "\u202e", "\u2028")


def random_program(rng: Any) -> bytes:
    """A valid .pte of random structure (``rng`` is a ``random.Random``): random dataflow over
    kernels, delegates of several backends, moves, frees and jumps, with hostile names."""
    from crafted import build_pte, tensor

    values: list[tuple] = []
    for _ in range(rng.randint(2, 12)):
        kind = rng.random()
        if kind < 0.8:
            sizes = tuple(rng.choice((0, 1, 2, 3, 16, 1 << 20)) for _ in range(rng.randint(0, 3)))
            values.append(tensor(*sizes, scalar_type=rng.choice((1, 6, 6, 99)), constant=rng.random() < 0.2))
        elif kind < 0.9:
            values.append(("int", rng.randint(-3, 3)))
        else:
            values.append(("tensor_list", tuple(rng.randrange(len(values) + 1) for _ in range(rng.randint(0, 3)))))
    n = len(values)
    operators = [(rng.choice(NAMES), rng.choice(("out", "Tensor_out", ""))) for _ in range(rng.randint(1, 4))]
    delegates = [(rng.choice(BACKENDS), bytes(rng.randrange(256) for _ in range(rng.randint(0, 24))), []) for _ in range(rng.randint(1, 4))]
    instructions: list[tuple] = []
    for _ in range(rng.randint(1, 24)):
        kind = rng.choice(("kernel", "kernel", "delegate", "delegate", "move", "free", "jump_false"))
        args = tuple(rng.randrange(n) for _ in range(rng.randint(0, 4)))
        if kind == "kernel":
            out = rng.randrange(n)
            instructions.append(("kernel", rng.randrange(len(operators)), (*args, out, out)))
        elif kind == "delegate":
            instructions.append(("delegate", rng.randrange(len(delegates)), args))
        elif kind == "move":
            instructions.append(("move", rng.randrange(n), rng.randrange(n)))
        elif kind == "jump_false":
            instructions.append(("jump_false", rng.randrange(n), rng.randrange(len(instructions) + 2)))
        else:
            instructions.append(("free", rng.randrange(n)))
    inputs = tuple(rng.sample(range(n), rng.randint(0, min(2, n))))
    outputs = tuple(rng.sample(range(n), rng.randint(0, min(2, n))))
    return build_pte(
        values=values,
        instructions=instructions,
        operators=operators,
        delegates=delegates,
        inputs=inputs,
        outputs=outputs,
        method=rng.choice(("forward", "evil\n::warning::m", "m" * 300)),
    )


def exercise_layers(data: bytes) -> None:
    """Everything above the readers on one program: the recommender and explain, inspect text and
    JSON, the HTML report, the Model Explorer overlays, diff, and the lint in every format.
    Besides raising nothing but FormatError, every output must parse, carry no raw control
    character and stay within ``OUTPUT_RATIO`` times the input (plus ``OUTPUT_SLACK``)."""
    import json
    import tempfile
    import xml.etree.ElementTree as ET

    from edgeinspect.commands.explain import _account_lines as account_lines
    from edgeinspect.commands.explain import _text as explain_text
    from edgeinspect.diff import diff_programs
    from edgeinspect.lint import lint_paths
    from edgeinspect.lint.config import Config
    from edgeinspect.lint.output import FORMATS, render
    from edgeinspect.recommend import explain_dict, recommend
    from edgeinspect.recommend.fallbacks import account
    from edgeinspect.report.html import report_html
    from edgeinspect.report.inspect import inspect_dict, inspect_text
    from edgeinspect.report.overlays import overlays
    from edgeinspect.textsafe import bounded

    limit = OUTPUT_RATIO * len(data) + OUTPUT_SLACK
    program = edgeinspect.load(data, name="fuzz.pte")
    texts: dict[str, str] = {}
    try:
        if getattr(program, "format", None) != "pte":
            return
        recs = recommend(program)
        cpu = account(program, recommendations=recs)  # every CPU operator, glue apart (issue 17)
        texts["explain"] = explain_text("fuzz.pte", recs) + "\n" + "\n".join(account_lines(cpu, recs))
        json.dumps(bounded(explain_dict(recs)))
        assert len(json.dumps(bounded(cpu.to_dict()))) <= limit
        texts["inspect"] = inspect_text(program)
        doc = json.dumps(bounded(inspect_dict(program)))
        assert len(doc) <= limit, ("inspect json", len(doc), len(data))
        html = report_html(program)
        assert len(html) <= limit, ("report", len(html), len(data))
        for c in _RAW:
            assert c not in html, ("report", repr(c))
        assert len(json.dumps(overlays(program))) <= limit
        texts["diff"] = diff_programs(program, program).to_text()
    finally:
        program.close()
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/fuzz.pte"
        with open(path, "wb") as f:
            f.write(data)
        result = lint_paths([path], Config(cli={"max_transitions": 0, "min_coverage": 1.0}))
        for fmt in FORMATS:
            out = render(result, fmt)
            assert len(out) <= limit, (fmt, len(out), len(data))
            if fmt in ("json", "sarif"):
                json.loads(out)
            elif fmt == "junit":
                ET.fromstring(out)
            else:
                texts[f"lint {fmt}"] = out
    for what, text in texts.items():
        assert len(text) <= limit, (what, len(text), len(data))
        for c in _RAW:
            assert c not in text, (what, repr(c))
        if what != "lint github":
            assert not any(line.lstrip().startswith("::") for line in text.splitlines()), what


def layer_targets(count: int = 6) -> list[Target]:
    """Targets over the layers above the readers, seeded with generated programs and small
    fixtures (not in :func:`targets`: each input costs a report and a lint run)."""
    import random

    rng = random.Random(12)
    seeds = tuple(random_program(rng) for _ in range(count)) + tuple(p.read_bytes() for p in _files("*.pte", 2))
    return [Target("layers", seeds, exercise_layers)]
