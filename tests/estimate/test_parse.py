"""Reading Vela's CSVs: names from the graph that break its unquoted CSV, and text that is not
what Vela writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeinspect.estimate import VelaError, estimate_dump, kib_to_bytes, parse_per_layer_csv, parse_summary_csv
from edgeinspect.estimate._util import shown

serializer = pytest.importorskip("serializer.tosa_serializer")
Op = pytest.importorskip("tosa.Op").Op
DType = pytest.importorskip("tosa.DType").DType
NanPropagationMode = pytest.importorskip("tosa.NanPropagationMode").NanPropagationMode

U55 = (
    "--accelerator-config=ethos-u55-128 --config=Arm/vela.ini --output-format=raw "
    "--system-config=Ethos_U55_High_End_Embedded --memory-mode=Shared_Sram"
)
WEIRD = "a,b\nc\x1b[31md"


def _clamps(intermediate_name: str) -> bytes:
    """Two int8 CLAMPs, the first writing a tensor called ``intermediate_name``."""
    ser = serializer.TosaSerializer("", tosa_version_minor=0, tosa_version_draft=False)
    x = ser.addPlaceholder([1, 8, 8, 8], DType.INT8, None)
    y = ser.currRegion.currBasicBlock.addTensor(intermediate_name, [1, 8, 8, 8], DType.INT8)
    z = ser.addOutput([1, 8, 8, 8], DType.INT8)
    for a, b in ((x, y), (y, z)):
        attr = serializer.TosaSerializerAttribute()
        attr.ClampAttribute(ser.builder, bytes([0x80]), bytes([0x7F]), NanPropagationMode.PROPAGATE)
        ser.addOperator(Op.CLAMP, [a.name], [b.name], attr)
    return ser.serialize()


def test_names_with_commas_line_breaks_and_escapes_survive(tmp_path):
    """Vela writes the Name column unquoted, so this name splits its CSV line in two; the
    record keeps the name whole, and text output escapes it."""
    est = estimate_dump(_clamps(WEIRD), U55, cache_dir=tmp_path)
    assert [layer.name for layer in est.layers] == [WEIRD, "result-0"]
    assert sum(layer.cycles for layer in est.layers) == est.cycles_total
    assert shown(WEIRD) == "a,b\\x0ac\\x1b[31md"


HEADER = (
    "Original Operator,NNG Operator,Target,Staging Usage,Peak% (Staging),Op Cycles,Network% (cycles),NPU,"
    "SRAM AC,DRAM AC,OnFlash AC,OffFlash AC,MAC Count,Network% (MAC),Util% (MAC),Name"
)
ROW = "Conv2D,Conv2D,NPU,17152,100.0,9852,40.7,9852,3052,0,0,480,589824,100.0,46.7,tosa_rescale_default"


def test_per_layer_rows():
    (layer,) = parse_per_layer_csv(HEADER + "\n" + ROW + "\n")
    assert (layer.name, layer.cycles, layer.macs, layer.off_chip_flash_access_cycles) == ("tosa_rescale_default", 9852, 589824, 480)
    (layer,) = parse_per_layer_csv(HEADER + "\n" + ROW.replace("100.0,46.7", "NaN,NaN") + "\n")
    assert layer.macs_percent is None and layer.utilisation_percent is None
    assert parse_per_layer_csv("") == ()


@pytest.mark.parametrize(
    "text",
    [
        "not,the,header\n" + ROW,
        HEADER + "\n" + "garbage first row",
        HEADER + "\n" + ROW.replace("9852,40.7", "inf,40.7"),
    ],
)
def test_per_layer_text_that_is_not_vela_s_is_refused(text):
    with pytest.raises(VelaError):
        parse_per_layer_csv(text)


def test_summary_errors_name_the_column():
    with pytest.raises(VelaError, match="header and one row"):
        parse_summary_csv("a,b\n1,2\n3,4\n", source="vela x")
    with pytest.raises(VelaError, match="no column 'accelerator_configuration'"):
        parse_summary_csv("a\n1\n", source="vela x")


def test_kib_conversion_is_exact_or_refused():
    assert kib_to_bytes(16.75) == 17152 and kib_to_bytes(4194304.0) == 4 * 1024**3
    for n in (1, 1023, 123456789, 2**52 + 1):
        assert kib_to_bytes(float(repr(n / 1024.0))) == n  # how Vela writes and we read it
    for bad in (0.0001, float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError):
            kib_to_bytes(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(",\n\r.0123456789NaNinf-xyz%#")), max_size=300))
def test_any_text_reads_or_raises_vela_error(text):
    for parse in (parse_per_layer_csv, lambda t: parse_summary_csv(t, source="vela x")):
        try:
            parse(text)
        except VelaError:
            pass
        try:
            parse(HEADER + "\n" + text)
        except VelaError:
            pass
