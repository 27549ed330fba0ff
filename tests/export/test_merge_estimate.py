"""What a merge saves in time: the what-if partitions lowered to TOSA and estimated by Vela.

u55_channel_sum is split by a channel sum the U55 partitioner refuses (Vela 4.2's limit) and
Vela 5.1 compiles: its merge lowers and has a figure. u55_upsample's bilinear RESIZE and
u55_sort's sort cannot run on the U55: their merges say why instead.
"""

from __future__ import annotations

import pytest
from conftest import DATA

pytest.importorskip("torch")
pytest.importorskip("executorch")

import edgeinspect  # noqa: E402
from edgeinspect.errors import UsageError  # noqa: E402
from edgeinspect.estimate import estimate_program, merge_estimate_missing  # noqa: E402
from edgeinspect.export.merge_estimate import estimate_merge  # noqa: E402


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def test_merge_that_lowers_has_the_cycles_it_saves():
    program = edgeinspect.load(DATA / "u55_channel_sum.pte", tosa=DATA / "u55_channel_sum.tosa.d")
    merge = estimate_merge(DATA / "u55_channel_sum.etrecord", ["aten::sum"], program=program)
    assert merge.reason is None
    assert [p.merges for p in merge.before] == [(0,), (1,)] and [p.merges for p in merge.after] == [(0, 1)]
    assert merge.after[0].cpu_nodes  # the sum (and its glue) joined the partition
    # The baseline lowering is the export's own: each partition's estimate equals the
    # estimate of the delegate's dumped .tosa, figure for figure.
    dumps = estimate_program(program)["forward"]
    for part in merge.before:
        (index,) = part.merges
        theirs, ours = dumps[index].estimate.to_dict(), part.estimate.to_dict()
        for key in ("cycles_total", "cycles_npu", "nn_macs", "sram_bytes", "off_chip_flash_bytes", "traffic", "inference_time_s"):
            assert ours[key] == theirs[key], key
        assert [x["cycles"] for x in ours["layers"]] == [x["cycles"] for x in theirs["layers"]]
    before = sum(dumps[i].estimate.cycles_total for i in (0, 1))
    after = merge.after[0].estimate.cycles_total
    assert (merge.cycles_before, merge.cycles_after, merge.cycles_saved) == (before, after, before - after)
    assert merge.cycles_saved > 0 and merge.seconds_saved == merge.cycles_saved / 500e6
    assert merge.summary() == f"merging delegates 0 and 1 saves {before - after:,} cycles ({(before - after) / 5e5:.3g} ms at 500 MHz)"
    # The zoo's fix (the channel sum as a 1x1 conv of ones) is the same arithmetic in one
    # delegate: its real export costs what the merged what-if predicts.
    fixed = edgeinspect.load(DATA / "u55_channel_sum_fixed.pte", tosa=DATA / "u55_channel_sum_fixed.tosa.d")
    assert estimate_program(fixed)["forward"][0].estimate.cycles_total == after
    doc = merge.to_dict()
    assert doc["delegates_before"] == 2 and doc["delegates_after"] == 1 and doc["merged"] == [[0, 1]]


def test_merge_vela_cannot_compile_says_why():
    merge = estimate_merge(DATA / "u55_upsample.etrecord", ["aten::upsample_bilinear2d"])
    assert merge.cycles_saved is None and len(merge.before) == 2 and all(p.estimate for p in merge.before)
    assert merge.reason == (
        "Vela cannot compile the merged partition of delegates 0 and 1 for ethos-u55-128: "
        "Vela rejected the graph: RuntimeError: Non-passthrough operation (Resize) could not run on NPU"
    )
    assert merge.summary() == merge.reason


def test_merge_that_cannot_be_lowered_to_tosa_says_why():
    merge = estimate_merge(DATA / "u55_sort.etrecord", ["aten::sort"])
    assert merge.after == () and merge.cycles_saved is None
    assert merge.reason.startswith("the partitions with aten::sort supported cannot be lowered to TOSA: ")
    assert "aten.sort.default" in merge.reason


def test_program_that_is_not_the_etrecord_s_is_refused():
    with pytest.raises(UsageError, match="does not belong to this program"):
        estimate_merge(DATA / "u55_multi.etrecord", ["aten::index_select"], program=edgeinspect.load(DATA / "u55_cnn.pte"))
    with pytest.raises(UsageError, match="no method 'encode'"):
        estimate_merge(DATA / "u55_multi.etrecord", ["aten::index_select"], method="encode")


def test_what_is_missing_without_an_etrecord():
    assert "an ETRecord of the export" in merge_estimate_missing(None)
    assert "no such file" in merge_estimate_missing(DATA / "nowhere.etrecord")
    assert merge_estimate_missing(DATA / "u55_channel_sum.etrecord") is None
