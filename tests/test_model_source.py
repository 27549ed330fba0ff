"""Provenance without torch: stack-trace parsing, library frames, merging, the frames a .pte
carries (``emit_stacktrace=True``), and recommendations said the user's way."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.cli import main
from edgeinspect.model.source import (
    Frame,
    MethodSources,
    Module,
    ProgramSources,
    Source,
    frame_sources,
    is_library_file,
    merge_sources,
    module_label,
    parse_stack_trace,
    printable,
    source_from,
)
from edgeinspect.recommend import recommend
from edgeinspect.recommend.sources import NO_PROVENANCE, source_lines, source_sentence, with_sources

MODELS = Path(edgeinspect.__file__).parent / "export" / "models.py"
LRN = "torch.nn.modules.normalization.LocalResponseNorm"


def _model_line(text: str) -> int:
    """The line of models.py holding ``text`` (read as text: no torch needed)."""
    hits = [k for k, line in enumerate(MODELS.read_text().splitlines(), 1) if text in line]
    assert len(hits) == 1, (text, hits)
    return hits[0]


# torch.fx's format, with the caret lines Python 3.11 adds under some frames.
TRACE = """  File "/srv/me/proj/model.py", line 31, in forward
    x = self.features(x)
        ^^^^^^^^^^^^^^^^
  File "/venv/lib/python3.11/site-packages/torch/nn/modules/container.py", line 253, in forward
    input = module(input)
  File "/venv/lib/python3.11/site-packages/torch/nn/modules/normalization.py", line 65, in forward
    return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)
"""


def test_parse_stack_trace_keeps_every_frame_in_order() -> None:
    frames = parse_stack_trace(TRACE)
    assert [(f.file.rpartition("/")[2], f.line, f.function) for f in frames] == [
        ("model.py", 31, "forward"),
        ("container.py", 253, "forward"),
        ("normalization.py", 65, "forward"),
    ]
    assert frames[0].code == "x = self.features(x)"  # the caret line is not code
    assert parse_stack_trace("") == () and parse_stack_trace("no frames here\n") == ()


def test_library_files() -> None:
    for path in (
        "/venv/lib/python3.11/site-packages/torch/nn/modules/conv.py",
        "C:\\venv\\Lib\\site-packages\\torch\\nn\\modules\\conv.py",
        "/usr/lib/python3/dist-packages/x/y.py",
        "/srv/me/src/pytorch/torch/nn/functional.py",
        "/usr/lib/python3.11/contextlib.py",
        "<eval_with_key>.3",
        "site-packages/torch/nn/modules/container.py",
    ):
        assert is_library_file(path), path
    for path in ("/srv/me/proj/model.py", "edgeinspect/export/models.py", "model.py", "C:\\proj\\torchy\\model.py"):
        assert not is_library_file(path), path


def test_source_of_an_operator_inside_a_library_module() -> None:
    modules = [
        Module("", "torch.export._trace._non_strict_export.<locals>.Wrapper"),  # torch.export's own: dropped
        Module("", "model.Net"),
        Module("features", "torch.nn.modules.container.Sequential"),
        Module("features.2", LRN),
    ]
    s = source_from(parse_stack_trace(TRACE), modules, nodes=("aten_avg_pool3d_default",))
    assert (s.module_path, s.module_type, s.file, s.line, s.code) == (
        "features.2",
        LRN,
        "/srv/me/proj/model.py",
        31,
        "x = self.features(x)",
    )
    assert [m.path for m in s.modules] == ["", "features", "features.2"]
    assert s.caller == parse_stack_trace(TRACE)[0] and s.in_library
    assert len(s.stack) == 3 and s.stack[-1].file.endswith("normalization.py")
    assert s.to_dict()["caller"]["line"] == 31 and s.to_dict()["nodes"] == ["aten_avg_pool3d_default"]
    assert module_label(s.module_type) == "nn.LocalResponseNorm"


def test_source_of_a_functional_op_in_user_code() -> None:
    frames = (Frame("model.py", 12, "forward", "y = F.interpolate(y, scale_factor=2.0, mode='bilinear')"),)
    s = source_from(frames, [Module("", "model.Net")])
    assert (s.module_path, s.file, s.line, s.caller, s.in_library) == ("", "model.py", 12, None, False)
    # No user frame at all (an op made entirely in torch): no file, but the stack is kept.
    lib = source_from([Frame("site-packages/torch/x.py", 3)])
    assert lib.file is None and lib.stack and lib.caller is None


def test_merge_sources() -> None:
    a = Source(
        "features.0",
        "torch.nn.modules.conv.Conv2d",
        "m.py",
        30,
        "a",
        modules=(Module("", "N"), Module("features", "S"), Module("features.0", "C")),
        nodes=("n1",),
    )
    b = Source(
        "features.1",
        "torch.nn.modules.activation.ReLU",
        "m.py",
        33,
        "b",
        modules=(Module("", "N"), Module("features", "S"), Module("features.1", "R")),
        nodes=("n2",),
    )
    m = merge_sources([a, b])
    assert (m.module_path, m.module_type, m.file, m.line, m.end_line, m.code) == ("features", "S", "m.py", 30, 33, None)
    assert m.nodes == ("n1", "n2") and m.location == "m.py:30-33"
    assert merge_sources([a, replace(a, nodes=("n3",))]) == replace(a, nodes=("n1", "n3"))
    c = replace(b, file="other.py")
    assert merge_sources([a, c]).file is None
    assert merge_sources([]) is None


def test_printable_escapes_control_characters() -> None:
    assert printable("x\x1b[2J\ny\x00") == "x\\x1b[2J\\ny\\x00"
    assert len(printable("a" * 500, 50)) == 50


def test_frames_stored_in_the_pte_are_sources() -> None:
    """cpu_lrn_stacktrace was exported with emit_stacktrace=True: every instruction carries
    its frames, with the zoo's relative paths; the avg_pool3d came from LocalResponseNorm."""
    program = edgeinspect.load(DATA / "cpu_lrn_stacktrace.pte")
    method = program.method()
    assert len(method.frames) == len(method.instructions) and all(method.frames)
    sources = frame_sources(program)
    assert sources is not None and sources.origin == "pte"
    ms = sources.method("forward")
    line = _model_line("return torch.relu(self.features(x))")
    for ins in method.instructions:
        src = ms.instruction(ins.index)
        assert (src.file, src.line, src.code) == ("edgeinspect/export/models.py", line, "return torch.relu(self.features(x))")
        assert src.origin == "pte" and src.module_path is None  # a .pte keeps no module hierarchy
    pool = next(i for i in method.instructions if i.name.startswith("aten::avg_pool3d"))
    src = ms.instruction(pool.index)
    assert src.caller is not None and src.stack[-1].file == "site-packages/torch/nn/modules/normalization.py"
    assert frame_sources(edgeinspect.load(DATA / "u55_upsample.pte")) is None


def test_inspect_json_has_the_pte_frames_as_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(DATA / "cpu_lrn_stacktrace.pte"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["provenance"] == {"origin": "pte", "etrecord": None}
    for ins in doc["methods"][0]["instructions"]:
        assert ins["source"]["file"] == "edgeinspect/export/models.py" and ins["source"]["origin"] == "pte"
    # A program without frames and no --etrecord: the JSON is what it was.
    assert main(["inspect", str(DATA / "u55_upsample.pte"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "provenance" not in doc and all("source" not in i for i in doc["methods"][0]["instructions"])


def test_explain_says_how_to_get_provenance_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(DATA / "u55_multi.pte")]) == 0
    out = capsys.readouterr().out
    assert out.count(NO_PROVENANCE) == 1 and "--etrecord" in NO_PROVENANCE and "emit_stacktrace=True" in NO_PROVENANCE
    assert "where:" not in out
    assert main(["explain", str(DATA / "u55_multi.pte"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "provenance" not in doc and all("sources" not in r for r in doc["recommendations"])
    assert main(["explain", str(DATA / "u85_lrn_fixed.pte")]) == 0  # nothing splits: nothing to trace
    assert NO_PROVENANCE not in capsys.readouterr().out


def _lrn_sources(source: Source) -> tuple[edgeinspect.Program, ProgramSources]:
    program = edgeinspect.load(DATA / "u85_lrn.pte")
    pool = next(i for i in program.method().instructions if i.name.startswith("aten::avg_pool3d"))
    return program, ProgramSources("etrecord", {"forward": MethodSources("forward", {pool.index: source})})


def test_sentences_say_it_the_users_way() -> None:
    """The sentence for a library module, for user code, and for frames alone (a .pte's);
    module fixes move first when the module is known, and go when it is another."""
    frames = parse_stack_trace(TRACE)
    lrn = source_from(
        frames, [Module("", "model.Net"), Module("features", "torch.nn.modules.container.Sequential"), Module("features.2", LRN)]
    )
    program, sources = _lrn_sources(lrn)
    (rec,) = with_sources(program, recommend(program), sources)
    assert source_lines(rec) == [
        "nn.LocalResponseNorm at features.2 (model.py:31) decomposes into aten::avg_pool3d, which Ethos-U85 does not run"
    ]
    assert rec.fixes[0]["id"] == "lrn-window-as-conv"
    assert rec.to_dict()["sources"][0]["instruction"] == rec.last_instruction

    user = source_from([Frame("/p/model.py", 40, "forward", "y = F.avg_pool3d(y, 3)")], [Module("", "model.Net")])
    program, sources = _lrn_sources(user)
    (rec,) = with_sources(program, recommend(program), sources)
    assert source_sentence(rec, user) == "model.py:40 `y = F.avg_pool3d(y, 3)` in Net calls aten::avg_pool3d, which Ethos-U85 does not run"
    assert all(f["id"] != "lrn-window-as-conv" for f in rec.fixes)  # not a LocalResponseNorm: its fix goes

    only_frames = source_from(frames, origin="pte")
    program, sources = _lrn_sources(only_frames)
    (rec,) = with_sources(program, recommend(program), sources)
    assert source_sentence(rec, only_frames) == (
        "model.py:31 `x = self.features(x)` calls library code that runs aten::avg_pool3d, which Ethos-U85 does not run"
    )
    assert rec.fixes[0]["id"] == "lrn-window-as-conv"  # no module known: the catalog's order


def test_sentences_carry_no_control_characters() -> None:
    hostile = Source(None, None, "/p/m\x1b[2J.py", 3, "x = 1\x07", origin="pte")
    program, sources = _lrn_sources(hostile)
    (rec,) = with_sources(program, recommend(program), sources)
    (line,) = source_lines(rec)
    assert not re.search(r"[\x00-\x1f\x7f]", line) and "\\x1b" in line
