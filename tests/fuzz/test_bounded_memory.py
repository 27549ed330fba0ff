"""Hostile files under a memory limit: a clean FormatError (and EI001 from the lint), never a
MemoryError, a crash or a hang. Each runs in a fresh interpreter with RLIMIT_AS set."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from crafted import aliasing_pte, huge_vector_pte

resource = pytest.importorskip("resource")

LIMIT = 1 << 30  # 1 GiB of address space: far below what the attacks would take unbounded

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import edgeinspect
    from edgeinspect.lint import lint_paths
    try:
        edgeinspect.load(sys.argv[1])
    except edgeinspect.FormatError as err:
        reader = "FormatError: " + str(err)
    except MemoryError:
        reader = "MemoryError"
    else:
        reader = "parsed"
    result = lint_paths([sys.argv[1]])
    print(json.dumps({{"reader": reader, "codes": [f.code for f in result.findings],
                      "errors": [e.message for e in result.errors]}}))
    """
)


def _run_limited(path):
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD.format(limit=LIMIT), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize(
    "name, make, expect",
    [
        ("huge.pte", huge_vector_pte, "vector length 4294967280 exceeds"),
        ("alias.pte", aliasing_pte, "too many elements decoded"),
    ],
)
def test_hostile_file_is_a_clean_format_error_under_a_memory_limit(tmp_path, name, make, expect):
    path = tmp_path / name
    path.write_bytes(make())
    out = _run_limited(path)
    assert out["reader"].startswith("FormatError: "), out
    assert expect in out["reader"]
    assert out["codes"] == ["EI001"] and out["errors"] == []


def test_the_attacks_are_real():
    """Without the reader's checks these files would need far more than the limit."""
    huge = huge_vector_pte()
    assert len(huge) < 1024 and 10 * LIMIT < 0xFFFFFFF0 * 4
    alias = aliasing_pte()
    # 100,000 references x 100,000 sizes decoded as Python ints: ~10^10 objects.
    assert len(alias) < 1 << 20 and 50 * LIMIT < 100_000 * 100_000 * 8


def test_small_aliasing_within_budget_still_parses():
    """The element budget does not reject honest sharing: a few references parse fine."""
    import edgeinspect

    with edgeinspect.load(aliasing_pte(references=4, sizes=3), name="small.pte") as p:
        assert len(p.methods[0].values) == 4
        assert p.methods[0].values[0].data.sizes == (1, 1, 1)
