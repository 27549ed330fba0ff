"""The rules on real fixtures (tests/data, exported by the real toolchain) and on small hand-built methods."""

from __future__ import annotations

import pytest
from lint_helpers import DATA, copy_fixture, with_absolute_debug_path

import edgeinspect
from edgeinspect.analysis.figures import method_figures
from edgeinspect.lint import lint_paths
from edgeinspect.lint.config import Config, parse_options
from edgeinspect.lint.rules import RULES, absolute_paths, check_method
from edgeinspect.model import Instruction, Method


def _lint(*names: str, **options) -> list:
    config = Config().with_cli(parse_options(**options)) if options else Config()
    return list(lint_paths([str(DATA / f"{n}.pte") for n in names], config).findings)


def test_codes_and_names_are_stable():
    assert {c: r.name for c, r in RULES.items()} == {
        "EI001": "invalid-model",
        "EI101": "fragmented-delegation",
        "EI102": "cpu-island",
        "EI103": "too-many-transitions",
        "EI104": "boundary-bytes-exceeded",
        "EI105": "low-coverage",
        "EI106": "coverage-unknown",
        "EI107": "no-delegation",
        "EI120": "cpu-fallback",
        "EI201": "baseline-growth",
        "EI301": "absolute-path-in-compile-specs",
        "EI401": "cpu-share-exceeded",
        "EI402": "cpu-share-unknown",
        "EI501": "scratch-bytes-exceeded",
        "EI502": "sram-bytes-exceeded",
        "EI503": "memory-unknown",
    }
    for r in RULES.values():
        assert r.name == r.name.lower() and " " not in r.name and r.fix


@pytest.mark.parametrize("name", ["xnn_mlp", "xnn_cnn", "u55_cnn", "u85_upsample", "tosa_cnn", "xnn_two_methods"])
def test_clean_fixtures_have_no_findings(name):
    assert _lint(name) == []


def test_fragmented_u55_multi():
    findings = _lint("u55_multi")
    assert [f.code for f in findings].count("EI101") == 1
    frag = next(f for f in findings if f.code == "EI101")
    assert "EthosUBackend runs as 3 delegated subgraphs (max 1)" in frag.message
    assert "aten::upsample_bilinear2d.vec_out" in frag.message and "aten::index_select.out" in frag.message
    islands = [f for f in findings if f.code == "EI102"]
    assert len(islands) == 2
    assert {("upsample" in f.message, "index_select" in f.message) for f in islands} == {(True, False), (False, True)}
    # Offsets point at real instructions of the file: the island's first kernel call.
    with edgeinspect.load(DATA / "u55_multi.pte") as p:
        offsets = {i.offset for i in p.methods[0].instructions}
    assert all(f.offset in offsets for f in findings)
    assert all(f.severity == "error" and f.method == "forward" for f in findings)


def test_fixed_variant_has_fewer_findings():
    assert len(_lint("u55_multi_fixed")) < len(_lint("u55_multi"))
    assert _lint("u55_upsample_fixed") == []


def test_per_backend_max_delegates():
    assert not [f for f in _lint("u55_multi", max_delegates=["EthosUBackend=3"]) if f.code == "EI101"]
    assert [f.code for f in _lint("u55_multi", max_delegates=["EthosUBackend=2"])].count("EI101") == 1
    # A limit for another backend leaves EthosU at the default of 1.
    assert [f.code for f in _lint("u55_multi", max_delegates=["XnnpackBackend=9"])].count("EI101") == 1
    assert not [f for f in _lint("xnn_transformer", max_delegates=["5"]) if f.code == "EI101"]


def test_threshold_rules():
    codes = [f.code for f in _lint("u55_multi", max_transitions=4, max_boundary_bytes=["1000"])]
    assert "EI103" in codes and "EI104" in codes
    codes = [f.code for f in _lint("u55_multi", max_transitions=6, max_boundary_bytes=["35616"])]
    assert "EI103" not in codes and "EI104" not in codes
    by_backend = _lint("u55_multi", max_boundary_bytes=["EthosUBackend=100"])
    assert any(f.code == "EI104" and "EthosUBackend" in f.message for f in by_backend)


def test_coverage_rules(tmp_path):
    # XNNPACK payloads list their operators: coverage is measured.
    assert not [f for f in _lint("xnn_mlp", min_coverage="0.9") if f.code in ("EI105", "EI106")]
    low = _lint("xnn_cumsum", min_coverage="100%")
    assert any(f.code == "EI105" for f in low), low
    # Ethos-U payloads are compiled command streams: without the dumps, coverage is unknown,
    # never guessed (with <stem>.tosa.d beside it, see test_evidence.py, it is measured).
    alone = copy_fixture("u55_cnn", tmp_path / "u55_cnn.pte")
    config = Config().with_cli(parse_options(min_coverage="0.5"))
    unknown = list(lint_paths([str(alone)], config).findings)
    assert [f.code for f in unknown] == ["EI106"] and unknown[0].severity == "warning"
    assert "--tosa" in unknown[0].message and "<stem>.tosa.d" in unknown[0].message


def test_select_ignore_and_severity():
    assert {f.code for f in _lint("u55_multi", select=["EI102"])} == {"EI102"}
    assert {f.code for f in _lint("u55_multi", ignore=["EI1"])} == set()
    assert {f.code for f in _lint("u55_multi", select=["EI1"], ignore=["EI102"])} == {"EI101"}
    # The more specific entry wins: ignore the family, select one back.
    assert {f.code for f in _lint("u55_multi", select=["EI102"], ignore=["EI1"])} == {"EI102"}
    notes = _lint("u55_multi", severity=["EI102=note"])
    assert {f.severity for f in notes if f.code == "EI102"} == {"note"}


def test_absolute_path_in_compile_specs(tmp_path):
    path = tmp_path / "leaky.pte"
    path.write_bytes(with_absolute_debug_path("u55_cnn"))
    findings = lint_paths([str(path)]).findings
    assert [f.code for f in findings] == ["EI301"]
    assert "debug_artifact_path" in findings[0].message and "/srv/ci/" in findings[0].message
    with edgeinspect.load(path) as p:
        assert findings[0].offset == p.delegates[0].offset


def test_absolute_paths_detection():
    assert absolute_paths("u55_cnn.tosa.d") == []
    assert absolute_paths("--config=Arm/vela.ini --output-format=raw") == []
    assert absolute_paths('{"softmax": "STABLE"}') == []
    assert absolute_paths("--config=/opt/arm/vela.ini") == ["/opt/arm/vela.ini"]
    assert absolute_paths("D:/dump") == ["D:/dump"]


def _method(devices: list[str]) -> Method:
    calls = tuple(
        Instruction(i, "kernel" if d == "CPU" else "delegate", 0, (), "aten::cumsum.out" if d == "CPU" else d, d, 100 + i)
        for i, d in enumerate(devices)
    )
    return Method("forward", (), (), (), calls, (), ())


def test_no_delegation_rule_on_a_cpu_only_method():
    m = _method(["CPU", "CPU"])
    settings = Config().settings_for(None)
    findings = check_method(m, method_figures(m), settings, "cpu.pte")
    assert [f.code for f in findings] == ["EI107"]


def test_fragmented_delegation_points_at_the_first_extra_delegate():
    m = _method(["A", "CPU", "A", "CPU", "A"])
    findings = check_method(m, method_figures(m), Config().settings_for(None), "x.pte")
    frag = [f for f in findings if f.code == "EI101"]
    assert len(frag) == 1 and frag[0].offset == 102 and frag[0].instruction == 2
    # Two islands of one cause are one finding that lists both (offset: the first island's).
    (islands,) = [f for f in findings if f.code == "EI102"]
    assert islands.offset == 101 and islands.instructions == (1, 3) and islands.count == 2
    assert "2 CPU islands of aten::cumsum.out, at instructions 1, 3" in islands.message
