"""Lint output CI can read (issue 13 item 4): findings in execution order, the summary first, findings
of one rule and one cause grouped with their count and instruction list, delegates numbered as
``inspect`` numbers them, and ``--format github`` well under GitHub's annotation cap (10 errors and
10 warnings shown per step, 50 per job) on programs of hundreds of delegates (built by
tests/fuzz/crafted.py, no torch)."""

from __future__ import annotations

import json
import re

import pytest
from crafted import alternating_pte, build_pte, tensor
from lint_helpers import DATA, run_cli

from edgeinspect.lint.output import GITHUB_ANNOTATIONS_PER_LEVEL

#: What GitHub shows of one step's annotations, per level, and of one job.
GITHUB_SHOWN_PER_STEP, GITHUB_SHOWN_PER_JOB = 10, 50


def _json(capsys, *argv) -> dict:
    _, out, _ = run_cli(capsys, "lint", *argv, "--format", "json")
    return json.loads(out)


def _annotations(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("::")]


def test_findings_follow_execution_order_not_byte_offsets(capsys):
    doc = _json(capsys, str(DATA / "u55_multi.pte"), str(DATA / "xnn_many_delegates.pte"), "--max-transitions", "2")
    per_file: dict[str, list] = {}
    for f in doc["findings"]:
        per_file.setdefault(f["path"], []).append(f)
    assert list(per_file) == [str(DATA / "u55_multi.pte"), str(DATA / "xnn_many_delegates.pte")]  # files as given
    for findings in per_file.values():
        order = [-1 if f["instruction"] is None else f["instruction"] for f in findings]
        assert order == sorted(order)  # method-wide findings (EI103) first, then by instruction
        assert findings[0]["code"] == "EI103"
    offsets = [f["offset"] for f in per_file[str(DATA / "u55_multi.pte")][1:]]
    assert offsets != sorted(offsets)  # the exporter writes instructions backwards: offsets would reverse them


def test_delegates_are_numbered_as_inspect_numbers_them(capsys):
    _, out, _ = run_cli(capsys, "inspect", str(DATA / "u55_multi.pte"), "--format", "json")
    method = json.loads(out)["methods"][0]
    delegate_of = {i["index"]: i["delegate"] for i in method["instructions"] if i["kind"] == "delegate"}
    doc = _json(capsys, str(DATA / "u55_multi.pte"))
    islands = [f for f in doc["findings"] if f["code"] == "EI102"]
    assert len(islands) == len(method["metrics"]["cpu_islands"]) == 2
    for finding, island in zip(islands, method["metrics"]["cpu_islands"]):
        before, after = island["between"]
        assert (
            f"between delegate {delegate_of[before]} (instruction {before}) and delegate {delegate_of[after]} (instruction {after})"
            in finding["message"]
        )
        assert finding["instruction"] == island["instructions"][0]
    (frag,) = [f for f in doc["findings"] if f["code"] == "EI101"]
    assert f"delegates {', '.join(str(d) for d in delegate_of.values())};" in frag["message"]
    assert "the first past the limit is delegate 1 (instruction 5)" in frag["message"]
    assert not any("#" in f["message"] for f in doc["findings"])  # no second numbering


def test_summary_comes_first_in_text_and_github(capsys):
    for fmt, first in (("text", "Found 3 findings in 1 file"), ("github", "edgeinspect lint: Found 3 findings in 1 file")):
        _, out, _ = run_cli(capsys, "lint", str(DATA / "u55_multi.pte"), "--format", fmt)
        assert out.splitlines()[0].startswith(first), out


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """301 XNNPACK delegates alternating with the same CPU op (601 instructions: the shape of the
    issue's XNNPACK export), and the same with every island its own operator."""
    d = tmp_path_factory.mktemp("many")
    same = d / "same.pte"
    same.write_bytes(alternating_pte(300, distinct=1, op_name="aten::cumsum"))
    distinct = d / "distinct.pte"
    distinct.write_bytes(alternating_pte(300, op_name="aten::op"))
    return {"same": same, "distinct": distinct}


def test_one_cause_is_one_finding_with_its_count_and_instruction_list(capsys, many):
    doc = _json(capsys, str(many["same"]))
    assert doc["summary"]["by_code"] == {"EI101": 1, "EI102": 1} and doc["summary"]["instances"] == 301
    (islands,) = [f for f in doc["findings"] if f["code"] == "EI102"]
    assert islands["count"] == 300 and islands["instructions"] == list(range(1, 601, 2))
    assert islands["message"].startswith(
        "'forward': 300 CPU islands of aten::cumsum_0.out, at instructions 1, 3, 5, 7, 9, 11, 13, 15, +292 more;"
    )
    assert "the first between delegate 0 (instruction 0) and delegate 1 (instruction 2)" in islands["message"]
    (frag,) = [f for f in doc["findings"] if f["code"] == "EI101"]
    assert "runs as 301 delegated subgraphs (max 1)" in frag["message"] and frag["figures"]["delegate_calls"] == 301


@pytest.mark.parametrize("which", ["same", "distinct"])
def test_github_annotations_stay_under_the_cap_on_hundreds_of_delegates(capsys, many, which):
    code, out, _ = run_cli(capsys, "lint", str(many[which]), "--format", "github", "--max-transitions", "2", "--min-coverage", "0.9")
    annotations = _annotations(out)
    levels = [re.match(r"^::(error|warning|notice) ", a)[1] for a in annotations]
    assert code == 1
    assert not out.splitlines()[0].startswith("::")  # the summary line comes first
    for level in ("error", "warning", "notice"):
        assert levels.count(level) <= GITHUB_ANNOTATIONS_PER_LEVEL <= GITHUB_SHOWN_PER_STEP
    assert len(annotations) < GITHUB_SHOWN_PER_JOB / 2
    doc = _json(capsys, str(many[which]), "--max-transitions", "2", "--min-coverage", "0.9")
    if which == "same":  # grouped: EI101, one EI102 for 300 islands, EI103, EI106 (empty payloads: unknown)
        assert len(annotations) == len(doc["findings"]) == 4
        assert [a.split("title=")[1].split("::")[0] for a in annotations] == [
            "EI103 too-many-transitions",
            "EI106 coverage-unknown",
            "EI102 cpu-island",
            "EI101 fragmented-delegation",
        ]
    else:  # 300 causes: 300 findings; 9 annotated errors, one saying how many more, the rest in the log
        assert len(doc["findings"]) == 303
        assert levels.count("error") == GITHUB_ANNOTATIONS_PER_LEVEL
        assert annotations[-1].startswith("::error title=edgeinspect lint::293 more error finding(s) not annotated")
        logged = [line for line in out.splitlines() if line.startswith("- ")]
        assert len(logged) == 293  # nothing is lost: every finding is in the log
        assert all(" EI10" in line for line in logged)


def test_glue_only_and_mixed_causes_group_by_cause(capsys, tmp_path):
    """Islands group by their exact set of causes (glue-only islands are one group of their own)."""
    names = ["aten::cumsum", "quantized_decomposed::dequantize_per_tensor", "aten::cumsum"]
    ops = [0, 1, 0, 2, 0]  # island k runs operator ops[k]; 2 is a second cause
    operators = [(n, "out") for n in names[:2]] + [("aten::sort", "values")]
    values = [tensor(1, 8) for _ in range(2 * len(ops) + 2)]
    instructions = []
    for k in range(2 * len(ops) + 1):
        instructions.append(("delegate", k // 2, (k, k + 1)) if k % 2 == 0 else ("kernel", ops[k // 2], (k, k + 1, k + 1)))
    path = tmp_path / "mixed.pte"
    path.write_bytes(
        build_pte(
            values=values,
            instructions=instructions,
            operators=operators,
            delegates=[("XnnpackBackend", b"", [])] * (len(ops) + 1),
            inputs=(0,),
            outputs=(len(values) - 1,),
        )
    )
    doc = _json(capsys, str(path), "--select", "EI102")
    assert [(f["count"], f["instructions"]) for f in doc["findings"]] == [(3, [1, 5, 9]), (1, [3]), (1, [7])]
    assert "only quantize/dequantize glue" in doc["findings"][1]["message"]
