"""Our .pte reader against executorch's own deserializer, on every fixture of the zoo."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, pte_fixtures
from ei_testutil import summarize

import edgeinspect
from edgeinspect.graph import instruction_key
from edgeinspect.model import SCALAR_TYPES

FIXTURES = pte_fixtures()
IDS = [p.stem for p in FIXTURES]


def _expected(pte: Path) -> dict:
    return json.loads((pte.parent / f"{pte.stem}.expected.json").read_text())


def test_zoo_is_there():
    assert len(FIXTURES) >= 2, "tests/data has no .pte fixtures: run python -m edgeinspect.export.zoo"
    for pte in FIXTURES:
        assert (pte.parent / f"{pte.stem}.expected.json").exists(), f"{pte.name} has no expected JSON"


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_reader_agrees_with_executorch_deserializer(pte: Path):
    expected = _expected(pte)
    with edgeinspect.load(pte) as program:
        ours = summarize(program)
    assert ours["file_bytes"] == expected["file_bytes"]
    exp_prog = expected["program"]
    assert ours["program"]["version"] == exp_prog["version"]
    assert ours["program"]["segments"] == exp_prog["segments"]
    assert [m["name"] for m in ours["program"]["methods"]] == [m["name"] for m in exp_prog["methods"]]
    for mine, theirs in zip(ours["program"]["methods"], exp_prog["methods"]):
        name = mine["name"]
        assert mine["inputs"] == theirs["inputs"], name
        assert mine["outputs"] == theirs["outputs"], name
        assert mine["operators"] == theirs["operators"], name
        assert mine["instructions"] == theirs["instructions"], name
        assert mine["delegates"] == theirs["delegates"], name
        assert mine.get("stacktrace") == theirs.get("stacktrace"), name  # emit_stacktrace=True exports only
        assert len(mine["values"]) == len(theirs["values"]), name
        for i, (a, b) in enumerate(zip(mine["values"], theirs["values"])):
            if a["kind"] == "double" and b["kind"] == "double" and math.isnan(a["value"]):
                assert math.isnan(b["value"]), (name, i)
                continue
            assert a == b, (name, i)


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_tensor_byte_sizes_and_dtypes(pte: Path):
    with edgeinspect.load(pte) as program:
        for m in program.methods:
            for v in m.values:
                if v.kind == "tensor":
                    t = v.data
                    assert t.scalar_type in SCALAR_TYPES, t
                    assert t.nbytes == math.prod(t.sizes) * SCALAR_TYPES[t.scalar_type][1]


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_payloads_lie_inside_the_file_and_are_read_lazily(pte: Path):
    with edgeinspect.load(pte) as program:
        for d in program.delegates:
            assert d.payload_offset > 0 and d.payload_offset + d.payload_size <= program.file_size
            payload = d.payload()
            assert len(payload) == d.payload_size
            if d.backend_id == "XnnpackBackend":
                assert payload[4:8] == b"XH00"


@pytest.mark.needs_export
@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_payload_bytes_equal_executorch(pte: Path):
    from executorch.exir._serialize import _program as program_mod

    data = pte.read_bytes()
    restored = program_mod.deserialize_pte_binary(data).program
    with edgeinspect.load(pte) as program:
        for mine, plan in zip(program.methods, restored.execution_plan):
            for d, theirs in zip(mine.delegates, plan.delegates):
                blob = bytes(restored.backend_delegate_data[theirs.processed.index].data)
                assert d.payload() == blob, (mine.name, d.index)


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_networkx_graph_matches_the_method(pte: Path):
    with edgeinspect.load(pte) as program:
        for m in program.methods:
            g = program.to_networkx(m.name)
            instr_nodes = [n for n, d in g.nodes(data=True) if d["kind"] not in ("input", "output")]
            assert len(instr_nodes) == len(m.instructions)
            assert sum(1 for _, d in g.nodes(data=True) if d["kind"] == "input") == len(m.inputs)
            assert sum(1 for _, d in g.nodes(data=True) if d["kind"] == "output") == len(m.outputs)
            # node keys are of one type (strings), so they sort; an instruction's is its index as text
            assert all(isinstance(n, str) for n in g.nodes) and len(sorted(g.nodes)) == g.number_of_nodes()
            for ins in m.instructions:
                node = g.nodes[instruction_key(ins.index)]
                assert node["index"] == ins.index
                if ins.kind == "delegate":
                    assert node["device"] == m.delegates[ins.delegate].backend_id
                    assert node["delegate"] == ins.delegate == ins.ref
                elif ins.kind == "kernel":
                    assert node["device"] == "CPU" and node["name"] == m.operators[ins.operator_index].full_name
            stitched = program.to_networkx(m.name, stitched=True)
            assert all(isinstance(n, str) for n in stitched.nodes) and len(sorted(stitched.nodes)) == stitched.number_of_nodes()
            # every edge carries a tensor that both ends name, with consistent bytes
            for _u, _v, key, d in g.edges(keys=True, data=True):
                t = m.values[key].data
                assert d["shape"] == t.sizes and d["bytes"] == t.nbytes and d["dtype"] == t.dtype
            # every method output is reachable from some input or producer
            for k in range(len(m.outputs)):
                assert g.in_degree(f"output:{k}") >= 1 or m.values[m.outputs[k]].kind != "tensor"


def test_two_methods_are_read():
    multi = [p for p in FIXTURES if len(_expected(p)["program"]["methods"]) > 1]
    if not multi:
        pytest.skip("no multi-method fixture yet")
    with edgeinspect.load(multi[0]) as program:
        assert len(program.methods) > 1
        for name in program.method_names:
            assert program.method(name).name == name
        with pytest.raises(edgeinspect.UsageError, match="methods:"):
            program.method("no_such_method")


def test_both_payload_layouts_are_covered():
    layouts = {d["location"] for p in FIXTURES for m in _expected(p)["program"]["methods"] for d in m["delegates"]}
    assert layouts >= {"inline", "segment"}


def test_load_accepts_bytes():
    pte = FIXTURES[0]
    a = summarize(edgeinspect.load(pte.read_bytes(), name=pte.name))
    b = summarize(edgeinspect.load(pte))
    assert a == b


def test_load_and_graph_never_import_torch():
    code = (
        "import sys, edgeinspect, glob\n"
        f"files = sorted(glob.glob({str(DATA)!r} + '/*.pte'))\n"
        "assert files\n"
        "for f in files:\n"
        "    p = edgeinspect.load(f)\n"
        "    for m in p.methods: p.to_networkx(m.name)\n"
        "bad = [m for m in ('torch', 'executorch', 'numpy', 'model_explorer') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_payload_decoding_never_copies_the_payload(monkeypatch):
    # decode_delegate and the join read payloads through a view of the mapped file; a payload
    # holding hundreds of MB of weights must not be copied into memory to be summarized.
    from edgeinspect.formats import _source
    from edgeinspect.formats.payloads import decode_delegate

    def no_copy(self, offset, size):
        raise AssertionError("payload copied")

    monkeypatch.setattr(_source.Source, "read", no_copy)
    for name in ("xnn_transformer", "tosa_topk", "u55_upsample"):
        program = edgeinspect.load(DATA / f"{name}.pte", tosa=DATA / f"{name}.tosa.d" if name.startswith("u55") else None)
        for d in program.delegates:
            view = d.payload_view()
            assert isinstance(view, memoryview) and len(view) == d.payload_size
            assert decode_delegate(d).kind in ("xnnpack", "tosa", "ethos-u")


def test_mutable_buffer_is_state_not_produced_by_its_first_reader():
    # xnn_cache: index_put.out reads the cache (value 0) and writes a new tensor; copy_ writes
    # the cache back. The first instruction naming the cache only reads it: no edge may claim
    # it produced the cache.
    program = edgeinspect.load(DATA / "xnn_cache.pte")
    m = program.method()
    g = program.to_networkx()
    cache = next(i for i in m.instructions if i.name == "aten::copy_").args[0]
    assert not [e for e in g.edges(keys=True) if e[2] == cache]
    index_put = next(i for i in m.instructions if i.name.startswith("aten::index_put"))
    written = index_put.args[-1]
    copy = next(i for i in m.instructions if i.name == "aten::copy_")
    assert g.has_edge(instruction_key(index_put.index), instruction_key(copy.index), key=written)


@pytest.mark.parametrize("pte", FIXTURES, ids=IDS)
def test_fast_path_and_checked_accessors_read_the_same(pte: Path, monkeypatch):
    """One decoder, two paths: the fast path reads the calls and common values of every
    fixture by itself (so the corruption and fuzz tests, which hold it equal to the checked
    accessors on every mutation, compare two real paths), and both read the same program."""
    from ei_testutil import assert_fast_path_agrees

    from edgeinspect.formats import pte as reader
    from edgeinspect.formats._source import Source

    slow: list[str] = []
    checked_instruction, checked_value = reader._Reader._instruction, reader._Reader._value

    def instruction(self, pos, field, *args):
        slow.append(field)
        return checked_instruction(self, pos, field, *args)

    def value(self, pos, field):
        slow.append(field)
        return checked_value(self, pos, field)

    monkeypatch.setattr(reader._Reader, "_instruction", instruction)
    monkeypatch.setattr(reader._Reader, "_value", value)
    data = pte.read_bytes()
    program = reader.read_pte(Source(data, pte.name))
    calls = sum(1 for m in program.methods for i in m.instructions if i.is_call)
    fast_kinds = ("tensor", "int", "bool", "double", "null", "int_list", "tensor_list", "optional_tensor_list")
    common = sum(1 for m in program.methods for v in m.values if v.kind in fast_kinds and not (v.tensor and v.tensor.constant_name))
    assert calls + common > 0
    assert len(slow) == sum(len(m.instructions) + len(m.values) for m in program.methods) - calls - common
    slow.clear()
    reader.read_pte(Source(data, pte.name), fast=False)
    assert len(slow) == sum(len(m.instructions) + len(m.values) for m in program.methods)
    assert_fast_path_agrees(data, pte.name)
