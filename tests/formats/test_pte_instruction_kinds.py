"""Every instruction kind and every value kind, written by executorch's own serializer.

The exporter emits ``free`` only for unbounded dynamic tensors and jumps/moves only for
control flow (the zoo's xnn_cond has those), so this test takes a real program, appends one
instruction of every kind and one value of every kind with executorch's schema classes,
serializes it with ``serialize_pte_binary`` (both payload layouts), and reads it back.
"""

from __future__ import annotations

import copy

import pytest
from conftest import DATA

import edgeinspect

pytestmark = pytest.mark.needs_export


def _extended(layout_segments: bool) -> bytes:
    from executorch.exir import schema
    from executorch.exir._serialize import _program as program_mod

    pte = program_mod.deserialize_pte_binary((DATA / "u55_upsample.pte").read_bytes())
    prog = copy.deepcopy(pte.program)
    plan = prog.execution_plan[0]
    n = len(plan.values)
    plan.values += [
        schema.EValue(schema.Null()),
        schema.EValue(schema.Int(-(2**40))),
        schema.EValue(schema.Bool(True)),
        schema.EValue(schema.Double(2.5)),
        schema.EValue(schema.String("hello")),
        schema.EValue(schema.IntList([1, -2, 3])),
        schema.EValue(schema.DoubleList([0.5, -1.0])),
        schema.EValue(schema.BoolList([True, False, True])),
        schema.EValue(schema.TensorList([0, 1])),
        schema.EValue(schema.OptionalTensorList([0, -1])),
    ]
    instructions = plan.chains[0].instructions
    end = len(instructions)
    instructions += [
        schema.Instruction(schema.JumpFalseCall(cond_value_index=n + 2, destination_instruction=end + 3)),
        schema.Instruction(schema.MoveCall(move_from=0, move_to=1)),
        schema.Instruction(schema.FreeCall(value_index=1)),
    ]
    plan.chains[0].stacktrace = None
    out = program_mod.serialize_pte_binary(program_mod.PTEFile(program=prog), extract_delegate_segments=layout_segments)
    return bytes(out)


@pytest.mark.parametrize("segments", [False, True], ids=["inline", "segments"])
def test_every_instruction_and_value_kind(segments: bool):
    data = _extended(segments)
    program = edgeinspect.load(data, name="extended.pte")
    m = program.method()
    tail = m.instructions[-3:]
    assert [i.kind for i in tail] == ["jump_false", "move", "free"]
    jump, move, free = tail
    n = len(m.values) - 10
    assert jump.args == (n + 2,) and jump.destination == tail[0].index + 3 and jump.ref == jump.destination
    assert move.args == (0, 1) and free.args == (1,)
    assert [(v.kind, v.data) for v in m.values[n:]] == [
        ("null", None),
        ("int", -(2**40)),
        ("bool", True),
        ("double", 2.5),
        ("string", "hello"),
        ("int_list", (1, -2, 3)),
        ("double_list", (0.5, -1.0)),
        ("bool_list", (True, False, True)),
        ("tensor_list", (0, 1)),
        ("optional_tensor_list", (0, -1)),
    ]
    assert {d.location for d in m.delegates} == {"segment" if segments else "inline"}
    # the graph and the metrics skip jumps, moves and frees as docs/concepts.md says
    g = program.to_networkx()
    assert g.nodes[str(free.index)]["kind"] == "other" and g.nodes[str(free.index)]["instruction_kind"] == "free"
    from edgeinspect.analysis import transitions

    assert transitions(m) == 4
