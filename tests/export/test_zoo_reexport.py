"""Re-export the whole fixture zoo and compare it with the committed tests/data.

A failure here means the exporter (torch / executorch / Vela / TOSA serializer) now
writes something different from what the committed fixtures and their expected JSON
say: look at the diff, then regenerate with ``scripts/make_fixtures.sh`` if the change
is legitimate.

Nothing is exempt from the comparison: with ``PYTHONHASHSEED=0`` and seeded torch the
export is byte-identical run to run, so the .pte bytes, the oracle JSON and the TOSA
dumps are all compared exactly. Only ``export_seconds`` in zoo.json varies (wall
time), and the ETRecords are not compared (zip archives of pickled graphs, written
for the devtools, not read by these tests).
"""

from __future__ import annotations

import json
import os
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


@needs_exporter
@pytest.mark.parametrize("name", _names())
def test_pte_and_tosa_dumps_byte_identical(fresh: Path, name: str) -> None:
    assert (fresh / f"{name}.pte").read_bytes() == (DATA / f"{name}.pte").read_bytes()
    dumps = json.loads((DATA / f"{name}.expected.json").read_text())["tosa_dumps"]
    assert sorted(p.relative_to(fresh).as_posix() for p in fresh.glob(f"{name}.tosa.d/*")) == dumps
    for dump in dumps:
        assert (fresh / dump).read_bytes() == (DATA / dump).read_bytes(), dump


def test_committed_fixtures_are_complete() -> None:
    for entry in json.loads((DATA / "zoo.json").read_text())["fixtures"]:
        expected = json.loads((DATA / entry["expected"]).read_text())
        assert (DATA / entry["pte"]).stat().st_size == expected["file_bytes"] == entry["file_bytes"]
        for dump in expected["tosa_dumps"]:
            assert (DATA / dump).is_file(), dump
        if entry["etrecord"]:
            assert (DATA / entry["etrecord"]).is_file()


def test_no_machine_paths_in_fixtures() -> None:
    # The Arm dump directory is stored verbatim in the compile specs: it must be relative.
    for pte in sorted([*DATA.glob("*.pte"), *DATA.glob("*.etrecord")]):
        data = pte.read_bytes()
        for needle in (b"/work/", b"/tmp/", b"/home/", b"/root/"):
            assert needle not in data, f"{pte.name} contains a machine path ({needle!r})"
