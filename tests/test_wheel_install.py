"""edgeinspect as users install it from the repository (issue 13 item 7): a wheel built from this
checkout, installed into a fresh ``python -m venv``, runs ``edgeinspect inspect`` on a fixture.

No network: the wheel is built with the build backend already installed
(``--no-build-isolation``), and pip installs it with ``--no-index``. The two core dependencies
are not on this machine as wheels; the test installs each the way pip would have left it, by
copying the files its installed distribution's RECORD lists (package and ``.dist-info``) into
the new environment, and ``pip check`` confirms every requirement the wheel declares is met.
Nothing else of the test environment (torch, executorch, the repository itself) is visible
to the new interpreter.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import DATA

REPO = Path(__file__).resolve().parents[1]
#: The core's dependencies, as pyproject.toml declares them (tomli only below Python 3.11).
CORE = ("networkx", "flatbuffers")


def _install_like_pip(dist_name: str, site_packages: Path) -> None:
    """Copy an installed distribution's files (its RECORD) into ``site_packages``."""
    dist = importlib.metadata.distribution(dist_name)
    for f in dist.files or ():
        if f.parts[0] == ".." or "__pycache__" in f.parts:
            continue  # console scripts outside site-packages; byte code is made again
        target = site_packages / f
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist.locate_file(f), target)


def test_a_wheel_of_the_repository_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("edgeinspect", "adapters"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)  # a copy: the build leaves nothing in the checkout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", str(src), "-w", str(wheels)]
    subprocess.run(build, check=True, capture_output=True, env=env, timeout=120)
    (wheel,) = wheels.glob("edgeinspect-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "edgeinspect/data/support_table.json" in names and "edgeinspect/py.typed" in names
    assert not any(n.startswith("tests/") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
    assert any("networkx" in r for r in requires) and any("flatbuffers" in r for r in requires)
    assert not any("torch" in r and "extra ==" not in r for r in requires)  # torch only in an extra

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, env=env, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--no-index", "--no-deps", str(wheel)], check=True, capture_output=True, env=env, timeout=120
    )
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True, env=env
        ).stdout.strip()
    )
    for name in CORE:
        _install_like_pip(name, site)
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, env=env, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr

    # From elsewhere than the checkout, the installed package and its console script answer.
    where = subprocess.run(
        [python, "-c", "import edgeinspect, importlib.util; print(edgeinspect.__file__); print(importlib.util.find_spec('torch'))"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout.split()
    assert where[0].startswith(str(site)) and where[1] == "None"
    proc = subprocess.run(
        [venv / "bin" / "edgeinspect", "inspect", str(DATA / "u55_upsample.pte"), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    metrics = doc["methods"][0]["metrics"]
    assert (metrics["transitions"], metrics["boundary_bytes"], metrics["coverage"]["ratio"]) == (4, 19200, 0.8889)  # joined its .tosa.d
