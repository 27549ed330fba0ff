"""Short fuzz run (a few seconds per target) over every reader and payload decoder.

Inputs are real fixtures mutated by hypothesis (byte sets, interesting u32 values at
aligned positions, truncations, duplicated slices, bit flips, deletions). Each must parse
or raise FormatError, within a deadline. The run is derandomized so CI is repeatable;
benchmarks/fuzz_long.py runs the same targets for longer with fresh randomness.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fuzz_targets import DECODERS, check, mutate, targets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TARGETS = {t.name: t for t in targets()}

OPS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1 << 24), st.integers(0, 255)), min_size=1, max_size=8)

SHORT = settings(
    max_examples=800,
    deadline=2000,  # ms per input: a hang or a quadratic blow-up fails here
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seeds_parse(name):
    target = TARGETS[name]
    assert target.seeds, f"no seed inputs for target {name}"
    for seed in target.seeds:
        target.run(seed)  # real files must parse cleanly


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_mutations_raise_only_format_error(name):
    target = TARGETS[name]

    @SHORT
    @given(seed=st.sampled_from(target.seeds), ops=OPS)
    def fuzz(seed, ops):
        check(target, mutate(seed, ops))

    start = time.perf_counter()
    fuzz()
    assert time.perf_counter() - start < 60


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_truncations_and_empty(name):
    target = TARGETS[name]
    seed = min(target.seeds, key=len)
    for n in (0, 1, 3, 4, 7, 8, 12, 16, 31, 64, len(seed) // 2, len(seed) - 1):
        check(target, seed[: max(n, 0)])


REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.bin"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_regressions(path):
    """Inputs the fuzzers once crashed on, named ``<target>--<what>.bin``: now FormatError or parsed."""
    check(TARGETS[path.stem.split("--")[0]], path.read_bytes())


def test_every_listed_decoder_is_fuzzed():
    """The harness covers each decoder of DECODERS, with real payloads as seeds."""
    for name, *_ in DECODERS:
        assert name in TARGETS and TARGETS[name].seeds, name
