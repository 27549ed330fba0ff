"""Provenance from the zoo's ETRecords, checked against what each ETRecord's own graph says
(debug handle map, ``nn_module_stack``, ``stack_trace`` parsed by executorch's own parser)
and against the lines of the zoo's models; a mismatched ETRecord is a usage error; the
frames of an ``emit_stacktrace=True`` export are read as executorch wrote them."""

from __future__ import annotations

import inspect
import json
import operator
import subprocess
import sys

import pytest
from conftest import DATA, zoo_index

pytest.importorskip("torch")
pytest.importorskip("executorch")

import torch  # noqa: E402
from executorch.devtools.etrecord import parse_etrecord  # noqa: E402
from executorch.exir.print_program import _stacktrace_to_framelist  # noqa: E402

import edgeinspect  # noqa: E402
from edgeinspect.analysis import base_operator  # noqa: E402
from edgeinspect.cli import main  # noqa: E402
from edgeinspect.errors import UsageError  # noqa: E402
from edgeinspect.export import models  # noqa: E402
from edgeinspect.export.provenance import etrecord_sources  # noqa: E402
from edgeinspect.formats.payloads import decode_delegate  # noqa: E402
from edgeinspect.model.source import Frame  # noqa: E402

WITH_ETRECORD = [e for e in zoo_index() if e.get("etrecord")]
WRAPPERS = ("torch.export.", "torch.fx.", "torch._")
MODELS_FILE = "edgeinspect/export/models.py"


def _line(cls: type, text: str) -> int:
    """The line of ``cls``'s source in models.py that holds ``text`` (exactly one)."""
    lines, start = inspect.getsourcelines(cls)
    hits = [start + k for k, line in enumerate(lines) if text in line]
    assert len(hits) == 1, (cls, text, hits)
    return hits[0]


def _op(node: torch.fx.Node) -> str:
    inner = getattr(node.target, "_op", node.target)
    return inner.name() if hasattr(inner, "name") else str(node.target)


def _expected(node: torch.fx.Node) -> dict:
    """What the ETRecord's graph says about a node: its innermost module, and its innermost
    frame outside site-packages, with frames parsed by executorch's own parser."""
    modules = [v for v in (node.meta.get("nn_module_stack") or {}).values() if not v[1].startswith(WRAPPERS)]
    frames = list(_stacktrace_to_framelist(node.meta.get("stack_trace") or "").items)
    user = [f for f in frames if not f.filename.startswith("site-packages/")]
    return {
        "module": modules[-1] if modules else (None, None),
        "stack": tuple(Frame(f.filename, f.lineno, f.name, f.context) for f in frames),
        "frame": (user[-1].filename, user[-1].lineno, user[-1].context) if user else (None, None, None),
        "caller": bool(user) and user[-1] is not frames[-1],
    }


def _check(src, node: torch.fx.Node) -> None:
    want = _expected(node)
    assert (src.module_path, src.module_type) == want["module"], node.name
    assert (src.file, src.line, src.code) == want["frame"], node.name
    assert src.stack == want["stack"], node.name
    assert (src.caller is not None) == want["caller"], node.name


def _edge(et) -> dict:
    edge = et.edge_dialect_program
    return edge if isinstance(edge, dict) else {next(iter(et._debug_handle_map)): edge}


@pytest.fixture(scope="module")
def sources() -> dict:
    return {e["name"]: etrecord_sources(edgeinspect.load(DATA / e["pte"]), DATA / e["etrecord"]) for e in WITH_ETRECORD}


def test_zoo_has_provenance_fixtures() -> None:
    names = {e["name"] for e in WITH_ETRECORD}
    assert {"u85_lrn", "u55_upsample", "u55_upsample_module", "u85_attention", "xnn_transformer"} <= names


@pytest.mark.parametrize("entry", WITH_ETRECORD, ids=[e["name"] for e in WITH_ETRECORD])
def test_every_instruction_and_delegate_operator_has_the_etrecords_source(entry: dict, sources: dict) -> None:
    program = edgeinspect.load(DATA / entry["pte"])
    et = parse_etrecord(str(DATA / entry["etrecord"]))
    edge = _edge(et)
    for method in program.methods:
        ms = sources[entry["name"]].method(method.name)
        handles = et._debug_handle_map[method.name]
        ep = edge[method.name]
        gm = ep.graph_module
        top = {n.name: n for n in ep.graph.nodes}
        calls = [n for n in ep.graph.nodes if n.op == "call_function" and getattr(n.target, "__name__", "") == "executorch_call_delegate"]
        lowered = [getattr(gm, c.args[0].target) for c in calls]
        for ins in method.instructions:
            src = ms.instruction(ins.index)
            if ins.kind == "kernel":
                assert src is not None, ins
                nodes = [top[n] for n in src.nodes]
                assert nodes and all(n.meta["debug_handle"] == handles[str(ins.index)] for n in nodes), ins
                assert all(base_operator(_op(n)) == base_operator(ins.name) for n in nodes), ins
                if len(nodes) == 1:
                    _check(src, nodes[0])
            elif ins.kind == "delegate":
                assert src is not None, ins
        delegate_calls = [i for i in method.instructions if i.kind == "delegate"]
        for ins, low in zip(delegate_calls, lowered, strict=True):
            nodes = [n for n in low.original_module.graph.nodes if n.op == "call_function" and n.target is not operator.getitem]
            ops = ms.delegates[ins.delegate]
            assert [op.node for op in ops] == [n.name for n in nodes]
            assert [op.debug_handle for op in ops if op.debug_handle is not None] == handles[str(ins.index)]
            for op, node in zip(ops, nodes, strict=True):
                assert base_operator(op.operator) == base_operator(_op(node)) and op.debug_handle == node.meta.get("debug_handle")
                _check(op.source, node)
            decoded = decode_delegate(method.delegates[ins.delegate])
            if decoded.kind == "xnnpack":
                placed = ms.payload[ins.delegate]
                for xnode in decoded.graph.nodes:
                    if xnode.debug_handle != 65535:
                        same = {n.name for n in nodes if n.meta.get("debug_handle") == xnode.debug_handle}
                        assert set(placed[xnode.index].nodes) == same, xnode
            else:
                assert ins.delegate not in ms.payload


def test_lrn_in_sequential_points_at_the_module_and_the_calling_line(sources: dict) -> None:
    program = edgeinspect.load(DATA / "u85_lrn.pte")
    pool = next(i for i in program.method().instructions if i.name == "aten::avg_pool3d.out")
    src = sources["u85_lrn"].method("forward").instruction(pool.index)
    line = _line(models.LRNFeatures, "self.features(x)")
    assert (src.module_path, src.module_type) == ("features.2", "torch.nn.modules.normalization.LocalResponseNorm")
    assert [(m.path, m.type) for m in src.modules] == [
        ("", "edgeinspect.export.models.LRNFeatures"),
        ("features", "torch.nn.modules.container.Sequential"),
        ("features.2", "torch.nn.modules.normalization.LocalResponseNorm"),
    ]
    assert (src.file, src.line, src.caller.line) == (MODELS_FILE, line, line)
    assert src.stack[-1].file == "site-packages/torch/nn/modules/normalization.py" and src.in_library


def test_functional_op_points_at_its_own_line(sources: dict) -> None:
    program = edgeinspect.load(DATA / "u55_upsample.pte")
    up = next(i for i in program.method().instructions if i.name.startswith("aten::upsample_bilinear2d"))
    src = sources["u55_upsample"].method("forward").instruction(up.index)
    assert (src.module_path, src.module_type) == ("", "edgeinspect.export.models.UpsampleCNN")
    assert (src.file, src.line, src.caller, src.in_library) == (MODELS_FILE, _line(models.UpsampleCNN, 'mode="bilinear"'), None, False)


def test_upsample_module_in_sequential(sources: dict) -> None:
    program = edgeinspect.load(DATA / "u55_upsample_module.pte")
    up = next(i for i in program.method().instructions if i.name.startswith("aten::upsample_bilinear2d"))
    src = sources["u55_upsample_module"].method("forward").instruction(up.index)
    assert (src.module_path, src.module_type) == ("features.2", "torch.nn.modules.upsampling.Upsample")
    assert (src.file, src.line) == (MODELS_FILE, _line(models.UpsampleFeatures, "self.features(x)"))


def test_library_attention_ops_point_at_the_line_that_called_the_module(sources: dict) -> None:
    """Every operator inside u85_attention's one delegate: those of nn.MultiheadAttention
    name it and, where the ETRecord has their frames, the line that called it."""
    ms = sources["u85_attention"].method("forward")
    (ops,) = ms.delegates.values()
    attn_line, proj_line = _line(models.AttentionBlock, "self.attn("), _line(models.AttentionBlock, "self.proj(x)")
    seen = set()
    for op in ops:
        s = op.source
        if s.module_path == "attn":
            assert s.module_type == "torch.nn.modules.activation.MultiheadAttention"
            assert s.line in (None, attn_line) and (s.line is None or s.caller is not None)
        elif s.module_path == "proj":
            assert (s.module_type, s.line) == ("torch.nn.modules.linear.Linear", proj_line)
        seen.add((s.module_path, s.line))
    assert ("attn", attn_line) in seen and ("proj", proj_line) in seen
    delegate = ms.instruction(
        next(i.index for i in edgeinspect.load(DATA / "u85_attention.pte").method().instructions if i.kind == "delegate")
    )
    assert (delegate.module_type, delegate.file, delegate.line, delegate.end_line) == (
        "edgeinspect.export.models.AttentionBlock",
        MODELS_FILE,
        proj_line,
        attn_line,
    )


def test_layer_norms_of_the_transformer(sources: dict) -> None:
    program = edgeinspect.load(DATA / "xnn_transformer.pte")
    ms = sources["xnn_transformer"].method("forward")
    norms = [ms.instruction(i.index) for i in program.method().instructions if i.name.startswith("aten::native_layer_norm")]
    assert [(s.module_path, s.line) for s in norms] == [
        ("norm1", _line(models.TransformerBlock, "n = self.norm1(x)")),
        ("norm2", _line(models.TransformerBlock, "self.norm2(x)")),
    ]


@pytest.mark.parametrize(
    "pte, etrecord",
    [
        ("u55_upsample", "u55_gather"),
        ("xnn_cumsum", "u55_upsample"),
        ("u85_lrn", "u85_attention"),
        ("xnn_transformer", "xnn_transformer_fixed"),
    ],
)
def test_a_mismatched_etrecord_is_a_usage_error(pte: str, etrecord: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="does not belong to this program"):
        etrecord_sources(edgeinspect.load(DATA / f"{pte}.pte"), DATA / f"{etrecord}.etrecord")
    for command in (["explain"], ["inspect", "--format", "json"]):
        assert main([*command, str(DATA / f"{pte}.pte"), "--etrecord", str(DATA / f"{etrecord}.etrecord")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "does not belong to this program" in err


def test_explain_says_it_the_users_way(capsys: pytest.CaptureFixture[str]) -> None:
    line = _line(models.LRNFeatures, "self.features(x)")
    args = [str(DATA / "u85_lrn.pte"), "--etrecord", str(DATA / "u85_lrn.etrecord")]
    assert main(["explain", *args]) == 0
    out = capsys.readouterr().out
    assert (
        f"where: nn.LocalResponseNorm at features.2 (models.py:{line}) decomposes into aten::avg_pool3d, which Ethos-U85 does not run"
        in out
    )
    assert "fix [lrn-window-as-conv]" in out and "no provenance" not in out
    assert main(["explain", *args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (rec,) = doc["recommendations"]
    (src,) = rec["sources"]  # one per instance
    assert rec["instances"] == 1 and rec["fix_id"] == "lrn-window-as-conv"
    assert {k: src[k] for k in ("module_path", "module_type", "file", "line", "code")} == {
        "module_path": "features.2",
        "module_type": "torch.nn.modules.normalization.LocalResponseNorm",
        "file": MODELS_FILE,
        "line": line,
        "code": "return torch.relu(self.features(x))",
    }
    assert src["caller"]["line"] == line and src["stack"][-1]["file"].endswith("normalization.py")
    assert doc["provenance"] == {"origin": "etrecord", "etrecord": "u85_lrn.etrecord"}


def test_module_fixes_follow_the_module(capsys: pytest.CaptureFixture[str]) -> None:
    """nn.Upsample's own fix comes first where the upsample is an nn.Upsample, and is not
    offered where it is F.interpolate."""
    for name, first, module_fix in (("u55_upsample_module", "upsample-module-nearest", True), ("u55_upsample", "nearest-upsample", False)):
        assert main(["explain", str(DATA / f"{name}.pte"), "--etrecord", str(DATA / f"{name}.etrecord"), "--format", "json"]) == 0
        (rec,) = json.loads(capsys.readouterr().out)["recommendations"]
        offered = [rec["fix_id"], *(a["id"] for a in rec["alternatives"])]
        assert offered[0] == first and ("upsample-module-nearest" in offered) == module_fix
        assert len(rec["sources"]) == rec["instances"]


def test_inspect_json_gives_every_instruction_a_source(capsys: pytest.CaptureFixture[str], sources: dict) -> None:
    assert (
        main(["inspect", str(DATA / "xnn_transformer.pte"), "--etrecord", str(DATA / "xnn_transformer.etrecord"), "--format", "json"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    ms = sources["xnn_transformer"].method("forward")
    (method,) = doc["methods"]
    for ins in method["instructions"]:
        assert ins["source"] == ms.instruction(ins["index"]).to_dict()
    for d in method["delegates"]:
        assert [o["node"] for o in d["op_sources"]] == [op.node for op in ms.delegates[d["index"]]]
        assert set(d["payload_sources"]) == {str(k) for k in ms.payload[d["index"]]}
    assert doc["provenance"]["etrecord"] == "xnn_transformer.etrecord"


def test_channel_window_lrn_is_local_response_norm() -> None:
    """The u85_lrn_fixed model computes what nn.LocalResponseNorm does (with a large alpha,
    so the window matters)."""
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 5)
    for size in (2, 3, 4, 5):
        want = torch.nn.LocalResponseNorm(size, alpha=1.0, beta=0.75, k=1.0)(x)
        got = models.ChannelWindowLRN(8, size, alpha=1.0, beta=0.75, k=1.0)(x)
        assert torch.allclose(want, got, atol=1e-5), size


def test_frames_of_a_program_whose_kernels_precede_its_delegate(tmp_path) -> None:
    """executorch 1.5.1 writes a frame list only for the kernel calls before the first other
    instruction (a kernel after a delegate call fails the export): the stacktrace vector is
    shorter than the chain. Ours places each list on its instruction, as executorch reads it."""
    script = (
        "import sys, torch\n"
        "from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner\n"
        "from executorch.exir import ExecutorchBackendConfig, to_edge_transform_and_lower\n"
        "class M(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.conv = torch.nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n"
        "        return self.conv(torch.cumsum(x, dim=-1))\n"
        "ep = torch.export.export(M().eval(), (torch.randn(1, 3, 8, 8),))\n"
        "edge = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()])\n"
        "et = edge.to_executorch(ExecutorchBackendConfig(emit_stacktrace=True))\n"
        "open(sys.argv[1], 'wb').write(et.buffer)\n"
    )
    pte = tmp_path / "kernel_then_delegate.pte"
    (tmp_path / "export_it.py").write_text(script)  # a file: torch.fx keeps no frames of `python -c`
    subprocess.run([sys.executable, str(tmp_path / "export_it.py"), str(pte)], check=True, capture_output=True)
    from executorch.exir._serialize._program import deserialize_pte_binary

    (chain,) = deserialize_pte_binary(pte.read_bytes()).program.execution_plan[0].chains
    assert len(chain.instructions) == 2 and len(chain.stacktrace) == 1
    method = edgeinspect.load(pte).method()
    assert [i.kind for i in method.instructions] == ["kernel", "delegate"]
    assert method.frames[0] == tuple(Frame(f.filename, f.lineno, f.name, f.context) for f in chain.stacktrace[0].items)
    assert method.frames[0][-1].code == "return self.conv(torch.cumsum(x, dim=-1))" and method.frames[1] == ()


def test_zoo_rewrites_frame_paths_without_the_machine() -> None:
    from edgeinspect.export.zoo import REPO_ROOT, _portable_path

    assert _portable_path(str(REPO_ROOT / "edgeinspect" / "export" / "models.py")) == MODELS_FILE
    assert _portable_path(torch.nn.modules.conv.__file__) == "site-packages/torch/nn/modules/conv.py"
    assert _portable_path("edgeinspect/export/models.py") == MODELS_FILE  # already relative
    with pytest.raises(RuntimeError, match="outside the repository"):
        _portable_path("/nowhere/else/model.py")


def test_quickstart_shows_the_real_explain_output(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "quickstart.md").read_text()
    command = "$ edgeinspect explain u85_lrn.pte --etrecord u85_lrn.etrecord\n"
    shown = page[page.index(command) + len(command) :].split("```")[0]
    assert main(["explain", str(DATA / "u85_lrn.pte"), "--etrecord", str(DATA / "u85_lrn.etrecord")]) == 0
    assert capsys.readouterr().out == shown
