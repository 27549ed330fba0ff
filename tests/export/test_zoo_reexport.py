"""Re-export the whole fixture zoo and compare it with the committed tests/data.

A failure here means the exporter (torch / executorch / Vela / TOSA serializer) now
writes something different from what the committed fixtures and their expected JSON
say: look at the diff, then regenerate with ``scripts/make_fixtures.sh`` if the change
is legitimate.

Nothing is exempt from the comparison: with ``PYTHONHASHSEED=0`` and seeded torch the
export is byte-identical run to run on one machine, so the .pte bytes, the oracle JSON and
the TOSA dumps are all compared exactly. Only ``export_seconds`` in zoo.json varies (wall
time), and the ETRecords are not compared (zip archives of pickled graphs, written
for the devtools, not read by these tests).

One thing is not the same across machines: float kernels that round differently on another
CPU (seen: the transformer block's softmax/layer-norm calibration on an AVX-512 AMD EPYC gives
rescale multipliers a few ULPs apart from the machine that made the fixtures). Such a
difference is numeric, not format drift, and it is allowed only where numbers live: inside
TOSA constant data and inside delegate payloads, with the same file size and the same decoded
structure (every figure ``inspect --format json`` reports). Anything else is compared exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = DATA.parents[1]

needs_exporter = pytest.mark.needs_export  # re-exporting the zoo needs torch and executorch[ethos-u]


def _names() -> list[str]:
    return [f["name"] for f in json.loads((DATA / "zoo.json").read_text())["fixtures"]]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zoo")
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(REPO))
    # A subprocess: the export chdirs, and the hash seed must be fixed at interpreter start.
    # Two jobs: CI machines have 2 cores; the zoo costs about 2 CPU-minutes.
    subprocess.run(
        [sys.executable, "-m", "edgeinspect.export.zoo", "--out", str(out), "--jobs", "2"],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


@needs_exporter
def test_zoo_index_unchanged(fresh: Path) -> None:
    committed = json.loads((DATA / "zoo.json").read_text())
    regenerated = json.loads((fresh / "zoo.json").read_text())
    for entry in committed["fixtures"] + regenerated["fixtures"]:
        entry.pop("export_seconds")
    assert regenerated == committed


@needs_exporter
@pytest.mark.parametrize("name", _names())
def test_expected_json_unchanged(fresh: Path, name: str) -> None:
    committed = json.loads((DATA / f"{name}.expected.json").read_text())
    regenerated = json.loads((fresh / f"{name}.expected.json").read_text())
    assert regenerated == committed


def _inspect_json(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "edgeinspect.cli", "inspect", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    doc = json.loads(out.stdout)
    doc.pop("file")
    return doc


def _differing_offsets(a: bytes, b: bytes) -> list[int]:
    assert len(a) == len(b), f"size changed: {len(b)} -> {len(a)} bytes"
    return [k for k, (x, y) in enumerate(zip(a, b)) if x != y]


def _numeric_ranges(path: Path) -> list[tuple[int, int]]:
    """Byte ranges of a file where only numbers live: delegate payloads of a .pte, constant
    data of a .tosa."""
    import edgeinspect

    model = edgeinspect.load(path)
    try:
        if path.suffix == ".pte":
            return [(d.payload_offset, d.payload_offset + d.payload_size) for d in model.delegates]
        return [(t.data_offset, t.data_offset + t.data_bytes) for _, block in model.blocks for t in block.tensors if t.data_bytes]
    finally:
        close = getattr(model, "close", None)
        if close is not None:
            close()


def _assert_same_or_numerically_different(fresh: Path, committed: Path) -> None:
    new, old = fresh.read_bytes(), committed.read_bytes()
    if new == old:
        return
    ranges = _numeric_ranges(committed)
    outside = [k for k in _differing_offsets(new, old) if not any(lo <= k < hi for lo, hi in ranges)]
    assert not outside, f"{committed.name}: bytes differ outside payloads/constant data at offsets {outside[:10]}"
    assert _inspect_json(fresh) == _inspect_json(committed), f"{committed.name}: decoded structure differs"


@needs_exporter
@pytest.mark.parametrize("name", _names())
def test_pte_and_tosa_dumps_byte_identical(fresh: Path, name: str) -> None:
    _assert_same_or_numerically_different(fresh / f"{name}.pte", DATA / f"{name}.pte")
    dumps = json.loads((DATA / f"{name}.expected.json").read_text())["tosa_dumps"]
    assert sorted(p.relative_to(fresh).as_posix() for p in fresh.glob(f"{name}.tosa.d/*")) == dumps
    for dump in dumps:
        _assert_same_or_numerically_different(fresh / dump, DATA / dump)


def test_numeric_difference_is_only_allowed_inside_numbers(tmp_path: Path) -> None:
    # The tolerance above must not hide format drift: a changed byte outside a payload fails,
    # one inside a payload that leaves the decoded structure alone passes.
    pte = DATA / "u55_upsample.pte"
    data = bytearray(pte.read_bytes())
    (start, end), *_ = _numeric_ranges(pte)
    inside = bytearray(data)
    weights_end = end - 1  # the last payload byte is padding of the last block: structure unchanged
    inside[weights_end] ^= 0xFF
    (tmp_path / "inside.pte").write_bytes(inside)
    # inspect joins <stem>.tosa.d: give the copy the committed dumps, as a fresh export has its own
    shutil.copytree(DATA / "u55_upsample.tosa.d", tmp_path / "inside.tosa.d")
    _assert_same_or_numerically_different(tmp_path / "inside.pte", pte)
    outside = bytearray(data)
    outside[start - 1] ^= 0x01
    (tmp_path / "outside.pte").write_bytes(outside)
    with pytest.raises(AssertionError, match="outside payloads"):
        _assert_same_or_numerically_different(tmp_path / "outside.pte", pte)


def test_committed_fixtures_are_complete() -> None:
    for entry in json.loads((DATA / "zoo.json").read_text())["fixtures"]:
        expected = json.loads((DATA / entry["expected"]).read_text())
        assert (DATA / entry["pte"]).stat().st_size == expected["file_bytes"] == entry["file_bytes"]
        for dump in expected["tosa_dumps"]:
            assert (DATA / dump).is_file(), dump
        if entry["etrecord"]:
            assert (DATA / entry["etrecord"]).is_file()


def test_no_machine_paths_in_fixtures() -> None:
    """No committed fixture names a path of the machine that exported it: the Arm dump
    directory stored in the compile specs is relative, and the stack traces kept in the
    ETRecords (and in the .pte of an emit_stacktrace=True export) are rewritten relative to
    the repository or to site-packages. ETRecords are zip archives: their members are read
    uncompressed, so a compressed member cannot hide a path."""
    import zipfile

    files = sorted([*DATA.glob("*.pte"), *DATA.glob("*.etrecord"), *DATA.glob("*.expected.json"), *DATA.glob("*.tosa.d/*.tosa")])
    assert any(f.suffix == ".etrecord" for f in files)
    for path in files:
        blobs = [path.read_bytes()]
        if path.suffix == ".etrecord":
            with zipfile.ZipFile(path) as archive:
                blobs += [archive.read(name) for name in archive.namelist()]
        for data in blobs:
            for needle in (b"/work/", b"/tmp/", b"/home/", b"/root/", b"/Users/"):
                assert needle not in data, f"{path.name} contains a machine path ({needle!r})"
