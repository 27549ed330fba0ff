"""Hostile ETDumps under a memory limit: a clean FormatError (exit 2 and one line from the CLI),
never a MemoryError, a crash or a hang. Each runs in a fresh interpreter with RLIMIT_AS set."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from crafted_etdump import aliasing_blocks_etdump, aliasing_metadata_etdump, huge_events_etdump

resource = pytest.importorskip("resource")

LIMIT = 1 << 30  # 1 GiB of address space: far below what the attacks would take unbounded
DATA = Path(__file__).resolve().parents[1] / "data"

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import edgeinspect
    try:
        dump = edgeinspect.load_etdump(sys.argv[1])
        for block in dump.run_blocks:
            block.profile_events()
    except edgeinspect.FormatError as err:
        result = "FormatError: " + str(err)
    except MemoryError:
        result = "MemoryError"
    else:
        result = "read"
    print(json.dumps(result))
    """
)


@pytest.mark.parametrize(
    "name, make, expect",
    [
        ("huge.etdp", huge_events_etdump, "vector length 4294967280 exceeds"),
        ("alias.etdp", aliasing_metadata_etdump, "too many elements decoded"),
        ("blocks.etdp", aliasing_blocks_etdump, "blocks share their events"),
    ],
)
def test_hostile_etdump_is_a_clean_format_error_under_a_memory_limit(tmp_path, name, make, expect):
    path = tmp_path / name
    path.write_bytes(make())
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(limit=LIMIT), str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result.startswith("FormatError: ") and expect in result, result
    cli = subprocess.run(
        [sys.executable, "-m", "edgeinspect.cli", "inspect", str(DATA / "xnn_cumsum.pte"), "--etdump", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 2 and cli.stdout == ""
    assert cli.stderr.count("\n") == 1 and expect in cli.stderr and "Traceback" not in cli.stderr


def test_the_attacks_are_real():
    """Unbounded, the aliasing files would decode 100,000 x 100,000 bytes (10 GB) from 500 KB,
    and 20,000 x 20,000 events (4 x 10^8 event records: hours, and far over the limit) from 160 KB."""
    assert len(aliasing_metadata_etdump()) < 600_000 and 9 * LIMIT < 100_000 * 100_000
    assert len(aliasing_blocks_etdump()) < 200_000 and 30 * LIMIT < 20_000 * 20_000 * 100  # ~100 bytes per record
