"""The ETDump reader against ExecuTorch's own deserializer, on ETDumps the runtime wrote.

The committed ``tests/data/etdump/<name>.expected.json`` holds what
``executorch.devtools.etdump.serialize.deserialize_from_etdump_flatcc`` read from each file
when it was made; tests marked ``needs_executorch`` ask the deserializer again, live.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import DATA
from etdump_util import assert_same_events, etdump_fixtures, expected, summarize

import edgeinspect
from edgeinspect.formats import etdump as etdump_format
from edgeinspect.model.etdump import EventCounts, profile_kind, tick_span

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from crafted_etdump import etdump as crafted  # noqa: E402

FIXTURES = etdump_fixtures()
IDS = [p.stem for p in FIXTURES]

needs_executorch = pytest.mark.skipif(
    importlib.util.find_spec("executorch") is None or importlib.util.find_spec("torch") is None,
    reason="the reference deserializer needs executorch and torch (pip install edgeinspect[export])",
)


def test_the_fixtures_are_there():
    names = {p.stem for p in FIXTURES}
    assert {"xnn_cumsum", "xnn_cond", "xnn_many_delegates", "xnn_cumsum_debug", "u55_multi_synthetic", "u55_upsample_allocations"} <= names


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_every_event_matches_the_deserializer(path):
    with edgeinspect.load_etdump(path) as dump:
        assert dump.size_prefixed
        assert dump.file_size == path.stat().st_size == expected(path)["file_bytes"]
        assert_same_events(summarize(dump), expected(path)["etdump"])


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_bytes_and_a_plain_flatbuffer_read_the_same(path):
    """The runtime writes a size-prefixed buffer; without the prefix it is a plain flatbuffer."""
    data = path.read_bytes()
    with edgeinspect.load_etdump(path) as dump:
        reference = summarize(dump)
    assert summarize(edgeinspect.load_etdump(data, name=path.name)) == reference
    plain = edgeinspect.load_etdump(data[4:], name=path.name)
    assert not plain.size_prefixed
    assert summarize(plain) == reference


@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_event_counts(path):
    ref = expected(path)["etdump"]
    with edgeinspect.load_etdump(path) as dump:
        for block, theirs in zip(dump.run_blocks, ref["run_data"]):
            counts = block.event_counts()
            assert block.num_events == len(theirs["events"]) == counts.total
            for kind in ("profile", "allocation", "debug"):
                assert getattr(counts, kind) == sum(kind in e for e in theirs["events"])


def test_what_the_runtime_writes():
    """The facts the join relies on, as the runtime wrote them: a Default block (loading),
    then one Execute block per run, ending with Method::execute; XNNPACK's own events carry
    the operator in delegate_debug_id_str and come before their DELEGATE_CALL."""
    with edgeinspect.load_etdump(DATA / "etdump" / "xnn_cumsum.etdp") as dump:
        assert [b.name for b in dump.run_blocks] == ["Default"] + ["Execute"] * 5
        assert len(dump.execute_blocks) == 5
        default = dump.run_blocks[0].profile_events()
        assert {e.kind for e in default} == {"init", "load"}
        run = dump.execute_blocks[0].profile_events()
        assert run[-1].kind == "execute" and run[-1].chain_index == -1
        kinds = [e.kind for e in run]
        assert kinds == ["delegate"] * 3 + ["delegate_call", "native_call", "operator_call"] + ["delegate"] * 3 + [
            "delegate_call",
            "execute",
        ]
        assert run[0].delegate_id == run[0].delegate_debug_id_str == run[0].label == "Transpose (ND, X32) #1"
        assert run[0].name is None and run[0].delegate_debug_metadata == b""
        assert run[3].label == "DELEGATE_CALL" and run[3].delegate_id is None
        assert [e.instruction_id for e in run] == [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 0]


def test_debug_and_allocation_events():
    with edgeinspect.load_etdump(DATA / "etdump" / "xnn_cumsum_debug.etdp") as dump:
        debug = dump.execute_blocks[0].debug_events()
        assert [d.value_kind for d in debug] == ["Tensor"] * 6
        assert [d.output for d in debug] == [False] * 5 + [True]
        assert debug[-1].chain_index == 2**64 - 1
        assert debug[0].tensors[0].sizes == (1, 3, 16, 16) and debug[0].tensors[0].strides == (768, 256, 16, 1)
        assert dump.event_counts() == EventCounts(profile=24, allocation=0, debug=12)
    with edgeinspect.load_etdump(DATA / "etdump" / "u55_upsample_allocations.etdp") as dump:
        default = dump.run_blocks[0]
        assert default.allocators == ("method_allocator", "temp_allocator")
        assert [(a.allocator_id, a.allocation_size) for a in default.allocation_events()] == [(0, 4096), (0, 19200), (1, 512)]
        assert default.event_counts() == EventCounts(profile=2, allocation=3, debug=0)


def test_load_reads_only_the_block_list(monkeypatch):
    """Lazy: opening a file touches no event; a block decodes its events when asked."""

    def refuse(*args):
        raise AssertionError("events decoded at load time")

    monkeypatch.setattr(etdump_format._Decoder, "__call__", refuse)
    with edgeinspect.load_etdump(DATA / "etdump" / "xnn_many_delegates.etdp") as dump:
        assert [b.num_events for b in dump.run_blocks] == [2, 49, 49, 49]
        with pytest.raises(AssertionError, match="decoded"):
            dump.run_blocks[1].profile_events()


def test_every_request_has_its_own_element_budget():
    """Asking again and again never runs out of the per-file element budget."""
    with edgeinspect.load_etdump(DATA / "etdump" / "xnn_many_delegates.etdp") as dump:
        first = dump.run_blocks[1].profile_events()
        for _ in range(200):
            assert dump.run_blocks[1].profile_events() == first


def test_not_an_etdump():
    with pytest.raises(edgeinspect.FormatError, match="not an ETDump") as err:
        edgeinspect.load_etdump(DATA / "xnn_cumsum.pte")
    assert err.value.offset == 8 and err.value.field == "file_identifier"
    with pytest.raises(edgeinspect.FormatError, match="ETDump"):
        edgeinspect.load(DATA / "etdump" / "xnn_cumsum.etdp")
    for data in (b"", b"\x00" * 7, b"\x04\x00\x00\x00ED0"):
        with pytest.raises(edgeinspect.FormatError):
            edgeinspect.load_etdump(data, name="short.etdp")


def test_size_prefix_truncation_and_trailing_bytes():
    data = (DATA / "etdump" / "xnn_cumsum.etdp").read_bytes()
    reference = summarize(edgeinspect.load_etdump(data))
    with pytest.raises(edgeinspect.FormatError, match="truncated") as err:
        edgeinspect.load_etdump(data[:-1], name="cut.etdp")
    assert err.value.field == "size_prefix" and err.value.path == "cut.etdp"
    # Bytes after the declared size are not part of the flatbuffer (a padded device dump).
    assert summarize(edgeinspect.load_etdump(data + b"\0" * 16)) == reference


def test_kinds_and_spans():
    assert profile_kind("FREE_CALL", False) == "free"
    assert profile_kind("+EthosUBackend::execute()", False) == "other"
    assert profile_kind("DELEGATE_CALL", True) == "delegate"  # a delegate id wins
    assert tick_span(5, 5) == 0
    assert tick_span((1 << 32) - 1, 0) == 1


def test_a_32_bit_counter_that_wrapped():
    dump = edgeinspect.load_etdump(crafted([("Execute", [("OPERATOR_CALL", 0, 0, 0xFFFFFF00, 0x10)])]))
    (event,) = dump.run_blocks[0].profile_events()
    assert event.ticks == 0x110


def test_an_event_that_ends_before_it_starts_is_a_format_error():
    data = crafted([("Execute", [("OPERATOR_CALL", 0, 0, 10, 20), ("OPERATOR_CALL", 0, 1, 1 << 40, 20)])])
    dump = edgeinspect.load_etdump(data, name="bad.etdp")
    with pytest.raises(edgeinspect.FormatError, match="before it starts") as err:
        dump.run_blocks[0].profile_events()
    assert err.value.field == "run_data[0].events[1].profile_event.end_time"
    assert str(err.value).startswith("bad.etdp: offset 0x")


@needs_executorch
@pytest.mark.parametrize("path", FIXTURES, ids=IDS)
def test_every_event_matches_the_deserializer_live(path):
    from edgeinspect.export.profile import summarize_etdump

    with edgeinspect.load_etdump(path) as dump:
        assert_same_events(summarize(dump), summarize_etdump(path.read_bytes()))


@needs_executorch
def test_crafted_files_match_the_deserializer_live():
    """Files written by the flatbuffers builder (another writer than flatcc and flatc)."""
    from edgeinspect.export.profile import summarize_etdump

    blocks = [("Default", [("Method::init", -1, 0, 5, 9)]), ("Execute", [(None, 0, 3, 10, 20), ("OPERATOR_CALL", 0, 3, 8, 25)])]
    data = crafted(blocks)
    assert_same_events(summarize(edgeinspect.load_etdump(data)), summarize_etdump(data))
    plain = crafted(blocks, size_prefixed=False)
    assert_same_events(summarize(edgeinspect.load_etdump(plain)), summarize_etdump(plain, size_prefixed=False))
