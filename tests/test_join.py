"""Joining dumped .tosa files to Arm delegates by signature, on every Arm fixture of the zoo."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, zoo_index

import edgeinspect
from edgeinspect.formats.payloads import decode_delegate
from edgeinspect.join import attach_tosa, signature_of_tosa

ARM = [f for f in zoo_index() if f.get("tosa_dumps")]
# Where the dumps really cannot settle it (zoo.json descriptions): u55_sort's two delegates have
# identical signatures and both dumps are different graphs; u55_two_methods' forward dump was
# overwritten by encode's (same tag). Everything else must match.
EXPECTED_STATUS = {
    "u55_sort": {("forward", 0): "ambiguous", ("forward", 1): "ambiguous"},
    "u55_two_methods": {("forward", 0): "missing", ("encode", 0): "matched"},
}


def test_zoo_has_arm_fixtures():
    assert len(ARM) >= 8


@pytest.mark.parametrize("fx", ARM, ids=[f["name"] for f in ARM])
def test_every_delegate_joins(fx):
    pte = DATA / fx["pte"]
    dump_dir = DATA / Path(fx["tosa_dumps"][0]).parent
    program = edgeinspect.load(pte, tosa=[dump_dir])
    assert program.tosa_files == tuple(sorted(Path(p).name for p in fx["tosa_dumps"]))
    used = []
    expected = EXPECTED_STATUS.get(fx["name"], {})
    for m in program.methods:
        for d in m.delegates:
            assert d.tosa_join == expected.get((m.name, d.index), "matched"), (m.name, d.index, d.tosa_candidates)
    for d in program.delegates:
        if d.tosa_join != "matched":
            assert d.tosa is None and d.tosa_file is None and decode_delegate(d).ops is None
            continue
        assert d.tosa_file in program.tosa_files and d.tosa is not None
        used.append(d.tosa_file)
        decoded = decode_delegate(d)
        # u55_gather_only's one delegate holds a CONST alone (the int64 index cast to int32): no work
        assert decoded.ops is not None and "CONST" not in decoded.ops
        assert decoded.ops == d.tosa.histogram(include_const=False)
        if d.backend_id == "TOSABackend":
            # TOSABackend payloads are byte-identical to their dump
            assert d.payload() == (dump_dir / d.tosa_file).read_bytes()
    assert len(set(used)) == len(used), "one dump joined to two delegates"


def test_tag_numbers_are_not_execution_order():
    """In the zoo, delegate 0 of u55_multi is the highest tag: the join does not follow names."""
    fx = next(f for f in ARM if f["name"] == "u55_multi")
    program = edgeinspect.load(DATA / fx["pte"], tosa=DATA / "u55_multi.tosa.d")
    assert [d.tosa_file.split("_")[1] for d in program.delegates] == ["tag2", "tag1", "tag0"]


def test_files_and_missing_dumps(tmp_path):
    """Only one of two dumps given: the other delegate is 'missing', never guessed."""
    files = sorted((DATA / "u55_multi.tosa.d").glob("*.tosa"))
    program = edgeinspect.load(DATA / "u55_multi.pte", tosa=[files[0]])
    assert [d.tosa_join for d in program.delegates] == ["missing", "missing", "matched"]
    assert program.delegates[0].tosa is None and program.delegates[0].tosa_file is None
    assert decode_delegate(program.delegates[0]).ops is None


def test_identical_signatures_are_ambiguous(tmp_path):
    """Two different dumps with the delegate's signature: 'ambiguous', both listed, none chosen."""
    program = edgeinspect.load(DATA / "u55_upsample.pte", tosa=DATA / "u55_upsample.tosa.d")
    d1 = program.delegates[1]
    right = DATA / "u55_upsample.tosa.d" / d1.tosa_file
    # a different graph with the same inputs and outputs: the where fixture's other delegate
    want = signature_of_tosa(d1.tosa)
    other = next(
        p
        for p in sorted(DATA.glob("u55_*.tosa.d/*.tosa"))
        if p.read_bytes() != right.read_bytes() and signature_of_tosa(edgeinspect.load(p)) == want
    )
    shutil.copy(right, tmp_path / "a.tosa")
    shutil.copy(other, tmp_path / "b.tosa")
    joined = attach_tosa(edgeinspect.load(DATA / "u55_upsample.pte"), tmp_path)
    assert joined.delegates[1].tosa_join == "ambiguous"
    assert joined.delegates[1].tosa_candidates == ("a.tosa", "b.tosa") and joined.delegates[1].tosa is None
    # byte-identical copies are one graph: matched
    shutil.copy(right, tmp_path / "b.tosa")
    joined = attach_tosa(edgeinspect.load(DATA / "u55_upsample.pte"), tmp_path)
    assert joined.delegates[1].tosa_join == "matched" and joined.delegates[1].tosa_file == "a.tosa"


def test_usage_errors(tmp_path):
    with pytest.raises(edgeinspect.UsageError, match="no such"):
        edgeinspect.load(DATA / "u55_cnn.pte", tosa=tmp_path / "nope.tosa")
    with pytest.raises(edgeinspect.UsageError, match="no .tosa"):
        edgeinspect.load(DATA / "u55_cnn.pte", tosa=tmp_path)
    (tmp_path / "bad.tosa").write_bytes(b"not a flatbuffer at all")
    with pytest.raises(edgeinspect.FormatError):
        edgeinspect.load(DATA / "u55_cnn.pte", tosa=tmp_path / "bad.tosa")


def test_inspect_json_has_tosa_file_and_ops(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeinspect.cli",
            "inspect",
            str(DATA / "u55_where.pte"),
            "--tosa",
            str(DATA / "u55_where.tosa.d"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(out.stdout)
    delegates = doc["methods"][0]["delegates"]
    assert [d["tosa_join"] for d in delegates] == ["matched", "matched"]
    assert all(d["tosa_file"].endswith(".tosa") and "/" not in d["tosa_file"] for d in delegates)
    assert all(d["ops"] and "CONST" not in d["ops"] and d["const_ops"] > 0 for d in delegates)
    # Without --tosa, FILE's <stem>.tosa.d is joined (the rule of every command); a copy of the
    # program with no dumps beside it has none.
    beside = _inspect_json(DATA / "u55_where.pte")
    assert [d["tosa_file"] for d in beside["methods"][0]["delegates"]] == [d["tosa_file"] for d in delegates]
    alone = tmp_path / "u55_where.pte"
    alone.write_bytes((DATA / "u55_where.pte").read_bytes())
    plain = _inspect_json(alone)
    assert all(d["ops"] is None and d["tosa_file"] is None for d in plain["methods"][0]["delegates"])


def _inspect_json(path):
    out = subprocess.run(
        [sys.executable, "-m", "edgeinspect.cli", "inspect", str(path), "--format", "json"], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_velas_working_copy_beside_the_dumps_is_not_named(tmp_path):
    # Vela leaves out.tosa (a byte copy of one dump) in the dump directory; the join is the
    # same graph either way and names the Arm dump, not the working copy.
    dumps = tmp_path / "dumps"
    shutil.copytree(DATA / "u55_upsample.tosa.d", dumps)
    first = sorted(dumps.glob("output_*.tosa"))[0]
    shutil.copy(first, dumps / "out.tosa")
    program = attach_tosa(edgeinspect.load(DATA / "u55_upsample.pte"), dumps)
    joined = {d.tosa_file: d.tosa_join for d in program.delegates}
    assert set(joined.values()) == {"matched"}
    assert "out.tosa" not in joined and first.name in joined
