"""The layers above the readers under fuzzing (issue 12): the recommender, explain, inspect, the
HTML report, the overlays, diff and every lint format, on generated programs (random dataflow,
backends, moves, jumps and hostile names, written as valid .pte files) and on mutations of
them. Each must raise nothing but FormatError, and every output must parse, stay inert and stay
proportional to the input (:func:`fuzz_targets.exercise_layers`). About 20 s in all;
benchmarks/fuzz_long.py runs the same target for as long as asked.
"""

from __future__ import annotations

import random

from fuzz_targets import check, exercise_layers, layer_targets, mutate, random_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeinspect.errors import FormatError

LAYERS = layer_targets()[0]
FAST = settings(max_examples=600, deadline=5000, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def test_seeds_pass_every_layer():
    for seed in LAYERS.seeds:
        exercise_layers(seed)  # generated programs and real fixtures: whole, no FormatError


@FAST
@given(seed=st.integers(0, 1 << 32))
def test_generated_programs(seed):
    data = random_program(random.Random(seed))
    try:
        exercise_layers(data)
    except FormatError:
        pass  # a generated call can name a value out of range: the reader says so


OPS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1 << 24), st.integers(0, 255)), min_size=1, max_size=6)


@FAST
@given(seed=st.sampled_from(LAYERS.seeds), ops=OPS)
def test_mutated_programs(seed, ops):
    check(LAYERS, mutate(seed, ops))
