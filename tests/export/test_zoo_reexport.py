"""Re-export the whole fixture zoo and compare it with the committed tests/data.

A failure here means the exporter (torch / executorch / Vela / TOSA serializer) now
writes something different from what the committed fixtures and their expected JSON
say: look at the diff, then regenerate with ``scripts/make_fixtures.sh`` if the change
is legitimate.

Nothing is exempt from the comparison: with ``PYTHONHASHSEED=0`` and seeded torch the
export is byte-identical run to run, so the .pte bytes, the oracle JSON and the TOSA
dumps are all compared exactly. (``export_seconds`` in zoo.json varies, and is not
compared; neither are the ETRecords, which are zip files holding pickled graphs.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("executorch")
pytest.importorskip("torch")

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = DATA.parents[1]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zoo")
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(REPO))
    # A subprocess: the export chdirs and needs the hash seed fixed at interpreter start.
    subprocess.run(
        [sys.executable, "-m", "edgeinspect.export.zoo", "--out", str(out)],
        cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL,
    )
    return out


def _names() -> list[str]:
    return [f["name"] for f in json.loads((DATA / "zoo.json").read_text())["fixtures"]]


def test_zoo_index_matches_fixture_list(fresh: Path) -> None:
    committed = json.loads((DATA / "zoo.json").read_text())["fixtures"]
    regenerated = json.loads((fresh / "zoo.json").read_text())["fixtures"]
    for entry in committed + regenerated:
        entry.pop("export_seconds")
    assert regenerated == committed


@pytest.mark.parametrize("name", _names())
def test_expected_json_unchanged(fresh: Path, name: str) -> None:
    committed = json.loads((DATA / f"{name}.expected.json").read_text())
    regenerated = json.loads((fresh / f"{name}.expected.json").read_text())
    assert regenerated == committed


@pytest.mark.parametrize("name", _names())
def test_pte_and_tosa_dumps_byte_identical(fresh: Path, name: str) -> None:
    assert (fresh / f"{name}.pte").read_bytes() == (DATA / f"{name}.pte").read_bytes()
    dumps = json.loads((DATA / f"{name}.expected.json").read_text())["tosa_dumps"]
    for dump in dumps:
        assert (fresh / dump).read_bytes() == (DATA / dump).read_bytes(), dump


def test_no_machine_paths_in_fixtures() -> None:
    for pte in sorted(DATA.glob("*.pte")):
        data = pte.read_bytes()
        for needle in (b"/work/", b"/tmp/", b"/home/", b"/root/"):
            assert needle not in data, f"{pte.name} contains a machine path ({needle!r})"
