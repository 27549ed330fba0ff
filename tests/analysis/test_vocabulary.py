"""One vocabulary (issue 13 item 6): the names docs/concepts.md promises, one meaning per word,
and the old names kept as deprecated aliases that say what replaced them."""

from __future__ import annotations

import warnings

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.analysis import cpu_islands


def test_documented_names_are_importable_from_analysis() -> None:
    from edgeinspect import analysis
    from edgeinspect.analysis import GLUE_OPERATORS, TRIVIAL_OPERATORS, known_delegate_ops
    from edgeinspect.formats.payloads import known_delegate_ops as decoder_lookup

    assert known_delegate_ops is decoder_lookup
    assert "quantize_per_tensor" in GLUE_OPERATORS and "aten::view_copy" in TRIVIAL_OPERATORS
    for name in ("known_delegate_ops", "GLUE_OPERATORS", "TRIVIAL_OPERATORS", "crossings", "Crossing", "format_score"):
        assert name in analysis.__all__, name


def test_instruction_ref_and_its_named_views() -> None:
    m = edgeinspect.load(DATA / "u55_upsample.pte").method()
    calls = {i.kind: i for i in m.calls}
    delegate, kernel = calls["delegate"], calls["kernel"]
    assert delegate.delegate == delegate.ref == 1 and delegate.operator_index is None and delegate.destination is None
    assert kernel.operator_index == kernel.ref and kernel.delegate is None
    assert m.operators[kernel.operator_index].full_name == kernel.name
    # "target" is the chip a delegate was compiled for; on an instruction it is a deprecated alias of ref
    assert m.delegates[delegate.delegate].target == "ethos-u55-128"
    with pytest.warns(DeprecationWarning, match=r"Instruction\.ref"):
        assert delegate.target == delegate.ref


def test_island_between_and_backends_with_deprecated_aliases() -> None:
    (isl,) = cpu_islands(edgeinspect.load(DATA / "u55_upsample.pte").method())
    assert isl.between == (1, 5) and isl.backends == ("EthosUBackend", "EthosUBackend")
    doc = isl.to_dict()
    assert doc["between"] == [1, 5] and doc["backends"] == ["EthosUBackend", "EthosUBackend"]  # the JSON says the same words
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = (isl.before, isl.after, isl.before_backend, isl.after_backend)
    assert old == (1, 5, "EthosUBackend", "EthosUBackend")
    assert [w.category for w in caught] == [DeprecationWarning] * 4
    assert "between[0]" in str(caught[0].message)


def test_round_trip_json_uses_the_attribute_names() -> None:
    from edgeinspect.analysis import round_trips

    trips = round_trips(edgeinspect.load(DATA / "u85_lrn.pte").method())
    assert trips
    for r in trips:
        doc = r.to_dict()
        assert set(doc) == {"kind", "source", "sink", "value", "path", "ops", "bytes"}
        assert (doc["source"], doc["sink"], doc["kind"]) == (r.source, r.sink, r.kind)
