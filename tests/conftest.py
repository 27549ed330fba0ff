"""Shared fixtures: the zoo of real exported files under tests/data."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(Path(__file__).parent))  # for ei_testutil
sys.path.insert(0, str(Path(__file__).parent / "fuzz"))  # for crafted: hostile files built in the test


def zoo_index() -> list[dict]:
    """Entries of tests/data/zoo.json (empty until the zoo has been generated)."""
    p = DATA / "zoo.json"
    if not p.exists():
        return []
    doc = json.loads(p.read_text())
    return doc["fixtures"] if isinstance(doc, dict) else doc


def pte_fixtures() -> list[Path]:
    """Every committed .pte fixture."""
    return sorted(DATA.glob("*.pte"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``needs_export`` import torch/executorch inside them (collection never does):
    skip them, saying why, where those are not installed (looked up without importing them)."""
    if importlib.util.find_spec("torch") is not None and importlib.util.find_spec("executorch") is not None:
        return
    skip = pytest.mark.skip(reason="needs torch and executorch: pip install 'edgeinspect[export]'")
    for item in items:
        if "needs_export" in item.keywords:
            item.add_marker(skip)
