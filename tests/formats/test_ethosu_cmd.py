"""Ethos-U command-stream decoder: real fixtures, Vela as the oracle, corruption contract."""

from __future__ import annotations

import random
import re
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import edgeinspect
from edgeinspect.errors import FormatError, UsageError
from edgeinspect.formats.ethosu_cmd import architecture, decode_command_stream, opcode_names
from edgeinspect.formats.payloads import decode_delegate
from edgeinspect.report.inspect import delegate_dict

DATA = Path(__file__).resolve().parents[1] / "data"
ETHOS_U = sorted(DATA.glob("u55_*.pte")) + sorted(DATA.glob("u85_*.pte"))

# Fixtures whose streams cover every operation kind the zoo has (Vela takes ~1 s each).
ORACLE = ["u55_cnn", "u55_sort_fixed", "u55_where_fixed", "u55_two_methods", "u85_gather", "u85_transformer", "u85_upsample", "u85_where"]


def _delegates(names=None):
    out = []
    for pte in ETHOS_U:
        if names is not None and pte.stem not in names:
            continue
        tosa_dir = DATA / f"{pte.stem}.tosa.d"
        prog = edgeinspect.load(pte, tosa=tosa_dir) if tosa_dir.is_dir() else edgeinspect.load(pte)
        for m in prog.methods:
            for d in m.delegates:
                if d.backend_id == "EthosUBackend":
                    out.append((f"{pte.stem}:{m.name}:{d.index}", d))
    return out


@pytest.fixture(scope="module")
def delegates():
    found = _delegates()
    if not found:
        pytest.skip("no Ethos-U fixtures in tests/data")
    return found


def test_every_fixture_decodes_with_known_commands(delegates):
    for key, d in delegates:
        p = decode_delegate(d)
        cs = p.commands
        assert cs is not None, key
        assert cs.unknown_commands == 0, key
        assert cs.trailing_bytes == 0, key
        assert cs.operations[-1].kind == "stop", key
        assert sum(1 for op in cs.operations if op.kind == "stop") == 1, key
        # the COP1 header names the same NPU the compile specs do
        assert cs.arch == architecture(d.target) == cs.stream_arch, key
        assert cs.macs_per_cycle == int(d.target.rsplit("-", 1)[1]), key
        assert p.npu_ops == cs.histogram()
        assert sum(p.npu_ops.values()) == len(cs.operations)
        assert any(op.is_compute for op in cs.operations), key
        # commands tile the register stream: each starts where the previous one ended
        for a, b in zip(cs.commands, cs.commands[1:], strict=False):
            assert b.offset == a.offset + (8 if a.payload is not None else 4), key


def test_known_operations_and_shapes():
    ops = {k: decode_delegate(d).commands for k, d in _delegates({"u55_cnn", "u85_upsample", "u85_transformer"})}
    if not ops:
        pytest.skip("fixtures missing")
    cnn = ops["u55_cnn:forward:0"]
    convs = [op for op in cnn.operations if op.kind == "conv2d"]
    # Conv2d(3 -> 8, 3x3, padding 1) on a 16x16 int8 image, as the model in the zoo
    assert convs[0].ifm == (16, 16, 3) and convs[0].ofm == (16, 16, 8)
    assert convs[0].kernel == (3, 3) and convs[0].stride == (1, 1)
    assert convs[0].ifm_precision == "int8" and convs[0].ofm_precision == "int8"
    dma = [op for op in cnn.operations if op.kind == "dma"]
    assert dma[0].dma_bytes == 400
    assert cnn.histogram(compute_only=True) == {"pooling.average": 41, "conv2d": 2}
    assert ops["u85_upsample:forward:0"].histogram() == {"conv2d": 2, "pooling.sum": 1, "resize.bilinear": 1, "stop": 1}
    tr = ops["u85_transformer:forward:0"].histogram()
    assert tr["matmul"] == 4 and tr["pooling.reduce_sum"] == 5
    reduce_max = next(op for op in ops["u85_transformer:forward:0"].operations if op.kind == "pooling.max")
    assert reduce_max.kernel == (1, 8)  # Vela: ReduceMax, size=8,1 (width, height)


def test_inspect_json_has_npu_ops(delegates):
    key, d = delegates[0]
    out = delegate_dict(d)
    assert out["npu_ops"] == decode_delegate(d).npu_ops
    assert "npu_ops" not in out["payload"]


def test_architecture_and_tables():
    assert architecture("ethos-u65-256") == "ethos-u55"
    assert architecture(None) is None and architecture("TOSA-1.0+INT") is None
    u55, u85 = opcode_names("ethos-u55-128"), opcode_names("ethos-u85-256")
    assert u55[0x12D] == "NPU_SET_AB_START" and u85[0x12D] == "NPU_SET_RESIZE_Y_OFFSET"
    assert u55[0x4033] == "NPU_SET_DMA0_SKIP0" and u85[0x4033] == "NPU_SET_DMA0_SRC_STRIDE0"
    assert 0x007 not in u55 and u85[0x007] == "NPU_OP_RESIZE"
    with pytest.raises(UsageError):
        decode_command_stream(b"", "cortex-m55")


def _words(*ws: int) -> bytes:
    return struct.pack(f"<{len(ws)}I", *ws)


def test_bare_stream_unknown_codes_and_errors():
    cs = decode_command_stream(_words(0x0000_0077, 0x0001_0006, 0xFFFF_0000, 0), "ethos-u55")
    assert [c.name for c in cs.commands] == ["unknown(0x0077)", "NPU_OP_ELEMENTWISE", "NPU_OP_STOP"]
    assert [op.kind for op in cs.operations] == ["elementwise.add", "stop"]
    assert cs.trailing_bytes == 4 and cs.config is None
    assert decode_command_stream(_words(0x0063_0006, 0), "ethos-u85").operations[0].kind == "elementwise.mode_0x63"
    with pytest.raises(FormatError, match="whole number"):
        decode_command_stream(b"\0\0\0", "ethos-u55")
    with pytest.raises(FormatError, match="payload word"):
        decode_command_stream(_words(0x0000_4000), "ethos-u55")
    with pytest.raises(FormatError, match="without NPU_OP_STOP"):
        decode_command_stream(_words(0x0001_0005), "ethos-u55", path="x.pte", base=0x100)
    with pytest.raises(FormatError, match="COP2"):
        decode_command_stream(b"COP2" + bytes(12), "ethos-u85")
    cop1 = b"COP1" + _words(0x0010_0001, 0x1807, 0x1006_6001, 0x0002_0002, 0x0001_0005)
    with pytest.raises(FormatError, match="without NPU_OP_STOP|says 2 words"):
        decode_command_stream(cop1, "ethos-u55")
    cs = decode_command_stream(cop1 + _words(0), "ethos-u55")
    assert cs.macs_per_cycle == 128 and cs.stream_arch == "ethos-u55" and len(cs.operations) == 2
    assert cs.commands[0].offset == 20  # byte offset inside cmd_data, after the COP1 header


# --- corruption contract -------------------------------------------------------------


def _streams(delegates):
    seen = {}
    for _, d in delegates:
        s = decode_delegate(d).stream
        seen.setdefault(s.cmd_data, d.target)
    return list(seen.items())


def test_every_truncation_raises_format_error(delegates):
    """A command stream is read word by word to its NPU_OP_STOP: cutting it anywhere is an error
    (a decoder that accepted anything would not raise)."""
    for data, target in _streams(delegates):
        for n in range(len(data)):
            with pytest.raises(FormatError):
                decode_command_stream(data[:n], target)


def test_seeded_mutations_parse_or_raise_format_error(delegates):
    rng = random.Random(20240605)
    streams = _streams(delegates)
    rejected = 0
    for _ in range(1000):
        data, target = rng.choice(streams)
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        arch = rng.choice([target, "ethos-u55", "ethos-u85"])
        try:
            decode_command_stream(bytes(buf), arch)
        except FormatError:
            rejected += 1
    # Unknown codes are kept, not errors: most mutations decode. Some must not.
    assert rejected >= 10, f"only {rejected} of 1000 mutated streams were rejected"


def test_register_values_change_values_never_the_command_sequence(delegates):
    """The codes drive the walk, the values of NPU_SET registers do not: a stream whose
    register parameters and payload words are mutated decodes to the same commands and
    operation kinds (and the unmutated stream decodes with every code known)."""
    rng = random.Random(20240606)
    for data, target in _streams(delegates):
        cs = decode_command_stream(data, target)
        assert cs.unknown_commands == 0 and cs.operations[-1].kind == "stop"
        names = [c.name for c in cs.commands]
        kinds = [op.kind for op in cs.operations]
        values = [
            pos
            for c in cs.commands
            if c.name.startswith("NPU_SET_")
            for pos in (*range(c.offset + 2, c.offset + 4), *(range(c.offset + 4, c.offset + 8) if c.payload is not None else ()))
        ]
        assert values
        for _ in range(50):
            buf = bytearray(data)
            for pos in rng.sample(values, min(4, len(values))):
                buf[pos] = rng.randrange(256)
            mutated = decode_command_stream(bytes(buf), target)
            assert [c.name for c in mutated.commands] == names
            assert [op.kind for op in mutated.operations] == kinds


# --- Vela as the oracle ------------------------------------------------------------------

_LISTING = re.compile(r"^0x([0-9a-f]+): +(?:([0-9a-f]{8}) )?([0-9a-f]{4}) ([0-9a-f]{4}) - (NPU_[A-Z0-9_]+) +\d+(.*)$")
_MODE = re.compile(r"(?:pooling|elementwise|resize)_mode = [A-Z]+_MODE_([A-Z0-9_]+)")
_SIZE = re.compile(r"size=(\d+),(\d+) stride=(\d+),(\d+)")
_SIMPLE = {
    "NPU_OP_STOP": "stop",
    "NPU_OP_DMA_START": "dma",
    "NPU_OP_DMA_WAIT": "dma_wait",
    "NPU_OP_KERNEL_WAIT": "kernel_wait",
    "NPU_OP_DEPTHWISE": "depthwise",
}


def _vela(job):
    """Recompile a dumped .tosa with the delegate's own compile_flags, as arm_vela.py does."""
    key, flags, tosa, tmp = job
    out = tmp / "out"
    cmd = [sys.executable, "-m", "ethosu.vela", *flags.split(), f"--output-dir={out}", "--verbose-register-command-stream", str(tosa)]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    import numpy as np

    (npz,) = out.glob("*_vela.npz")
    with np.load(npz, allow_pickle=False) as z:
        cmd_data = z["cmd_data"].tobytes()
    return key, cmd_data, run.stdout


@pytest.fixture(scope="session")
def vela_runs(tmp_path_factory):
    pytest.importorskip("ethosu.vela")
    pytest.importorskip("numpy")
    jobs, delegates = [], {}
    for key, d in _delegates(set(ORACLE)):
        if d.tosa is None or "compile_flags" not in d.specs:
            continue
        stem = key.split(":", 1)[0]
        tmp = tmp_path_factory.mktemp(key.replace(":", "_"))
        jobs.append((key, d.specs["compile_flags"], DATA / f"{stem}.tosa.d" / d.tosa_file, tmp))
        delegates[key] = d
    if not jobs:
        pytest.skip("no Ethos-U fixture with a joined .tosa")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_vela, jobs))
    return [(delegates[k], k, cmd, listing) for k, cmd, listing in results]


def _vela_view(listing: str):
    """Commands (relative offset, code, param, payload, name), operation kinds and op comments."""
    commands, kinds, sizes = [], [], []
    comment = ""
    for line in listing.splitlines():
        if line.startswith("//"):
            comment = line
            continue
        m = _LISTING.match(line)
        if not m:
            continue
        off, payload, param, code, name, fields = m.groups()
        commands.append((int(off, 16), int(code, 16), int(param, 16), int(payload, 16) if payload else None, name))
        if not name.startswith("NPU_OP_"):
            continue
        mode = _MODE.search(fields)
        if name == "NPU_OP_POOL":
            kinds.append("pooling." + mode.group(1).lower())
        elif name == "NPU_OP_ELEMENTWISE":
            kinds.append("elementwise." + mode.group(1).lower())
        elif name == "NPU_OP_RESIZE":
            kinds.append("resize." + mode.group(1).lower())
        elif name == "NPU_OP_CONV":
            kinds.append("matmul" if "weights_ifm2 = 1" in fields else "conv2d")
        else:
            kinds.append(_SIMPLE.get(name, name))
        size = _SIZE.search(comment) if name in ("NPU_OP_CONV", "NPU_OP_DEPTHWISE", "NPU_OP_POOL") else None
        # Vela prints size=width,height stride=x,y; ours are (height, width) and (y, x)
        sizes.append(((int(size[2]), int(size[1])), (int(size[4]), int(size[3]))) if size else None)
    return commands, kinds, sizes


def test_vela_rerun_reproduces_cmd_data(vela_runs):
    for d, key, cmd_data, _ in vela_runs:
        assert decode_delegate(d).stream.cmd_data == cmd_data, key


def test_commands_and_operations_match_vela_listing(vela_runs):
    for d, key, cmd_data, listing in vela_runs:
        cs = decode_command_stream(cmd_data, d.target)
        commands, kinds, sizes = _vela_view(listing)
        assert commands, f"{key}: Vela printed no register command stream"
        start = cs.commands[0].offset
        ours = [(c.offset - start, c.code, c.param, c.payload, c.name) for c in cs.commands]
        assert ours == commands, key
        assert [op.kind for op in cs.operations] == kinds, key
        for op, vela in zip(cs.operations, sizes, strict=True):
            if vela is not None:
                assert (op.kernel, op.stride) == vela, (key, op)
