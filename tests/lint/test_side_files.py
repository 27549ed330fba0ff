"""Baselines and configurations are untrusted (issue 12, item 6): a file nested 50,000 deep, records
of the wrong types, a multi-GB file. Each is exit code 2 with one message naming the file and the
field, never a RecursionError, AttributeError, TypeError or MemoryError. Files built here."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lint_helpers import copy_fixture, run_cli

from edgeinspect.errors import UsageError
from edgeinspect.lint.baseline import Baseline
from edgeinspect.lint.config import load_config
from edgeinspect.lint.schema import BASELINE_SCHEMA, MAX_BYTES, problem

DEEP = 50_000


@pytest.fixture
def model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return copy_fixture("u55_multi", tmp_path / "m.pte")


def _record(**changes):
    record = {"delegated_subgraphs": {"EthosUBackend": 3}, "transitions": 6, "boundary_bytes": 100, "cpu_islands": [], "coverage": None}
    record.update(changes)
    return {"schema_version": 1, "files": {"m.pte": {"methods": {"forward": record}}}}


def _lint_with_baseline(capsys, text: str) -> tuple[int, str, str]:
    with open("b.json", "w", encoding="utf-8") as f:
        f.write(text)
    return run_cli(capsys, "lint", "m.pte", "--baseline", "b.json")


def test_a_baseline_nested_50000_deep_is_refused_before_parsing(model, capsys):
    for text in ("[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP, '{"files": ' + "[" * DEEP):
        code, out, err = _lint_with_baseline(capsys, text)
        assert code == 2 and "b.json nests deeper than 32 levels" in err, err
        assert "Recursion" not in err and "internal error" not in err
    # Brackets inside strings are text, not nesting.
    code, _, err = _lint_with_baseline(capsys, json.dumps(_record(cpu_islands=["[" * 100])))
    assert code == 1, err


@pytest.mark.parametrize(
    "doc, field, wrong",
    [
        (_record(transitions="a"), "files['m.pte'].methods.forward.transitions", "must be integer, not string"),
        (_record(transitions=True), "files['m.pte'].methods.forward.transitions", "must be integer, not boolean"),
        (_record(transitions=-1), "files['m.pte'].methods.forward.transitions", "must be at least 0"),
        (_record(delegated_subgraphs=[1]), "files['m.pte'].methods.forward.delegated_subgraphs", "must be object, not array"),
        (_record(delegated_subgraphs={"EthosUBackend": "3"}), "delegated_subgraphs.EthosUBackend", "must be integer"),
        (_record(cpu_islands=[1]), "files['m.pte'].methods.forward.cpu_islands[0]", "must be string, not integer"),
        (_record(coverage="most"), "files['m.pte'].methods.forward.coverage", "must be number or null"),
        (_record(extra=1), "files['m.pte'].methods.forward.extra", "is not a known field"),
        ({"schema_version": 1, "files": {"m.pte": {"methods": []}}}, "files['m.pte'].methods", "must be object, not array"),
        ({"schema_version": 1, "files": {"m.pte": {}}}, "files['m.pte']", "'methods' is missing"),
        ({"schema_version": 1, "files": {"m.pte": {"methods": {"forward": {}}}}}, "methods.forward", "'delegated_subgraphs' is missing"),
        ({"schema_version": 1, "files": {}, "generated_by": 7}, "generated_by", "must be string, not integer"),
    ],
)
def test_a_baseline_of_the_wrong_shape_names_the_file_and_the_field(model, capsys, doc, field, wrong):
    code, out, err = _lint_with_baseline(capsys, json.dumps(doc))
    assert code == 2, (out, err)
    assert "baseline b.json is malformed at" in err and field in err and wrong in err, err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err
    code, out, _ = run_cli(capsys, "lint", "m.pte", "--baseline", "b.json", "--format", "json")
    assert code == 2 and field in json.loads(out)["errors"][0]["message"]  # in the document too


def test_not_a_baseline_at_all(model, capsys):
    for text in ("[]", '"x"', '{"schema_version": 2, "files": {}}', "{}", "\xff\xfe"):
        code, _, err = _lint_with_baseline(capsys, text)
        assert code == 2 and "b.json" in err and "internal error" not in err, (text, err)


def test_a_multi_gigabyte_baseline_is_refused_unread(model, capsys, tmp_path):
    with open(tmp_path / "huge.json", "wb") as f:  # sparse: no disk is used
        f.truncate(3 << 30)
    code, _, err = run_cli(capsys, "lint", "m.pte", "--baseline", "huge.json")
    assert code == 2 and f"over the {MAX_BYTES:,}" in err and "huge.json" in err
    with open(tmp_path / "edgeinspect.toml", "wb") as f:
        f.truncate(MAX_BYTES + 1)
    code, _, err = run_cli(capsys, "lint", "m.pte")
    assert code == 2 and "edgeinspect.toml" in err and "refusing to read it" in err


@pytest.mark.parametrize(
    "text",
    [
        "[lint]\nselect = " + "[" * DEEP + "]" * DEEP + "\n",
        "[lint]\nseverity = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n",
        "[lint]\nexclude = [" + "'['," * DEEP + "]\n" + "x = " + "[" * 40 + "]" * 40 + "\n",
    ],
)
def test_a_configuration_nested_50000_deep_is_refused(model, capsys, text, tmp_path):
    (tmp_path / "edgeinspect.toml").write_text(text)
    with pytest.raises(UsageError, match="nests deeper than 32 levels"):
        load_config(tmp_path / "edgeinspect.toml")
    code, _, err = run_cli(capsys, "lint", "m.pte")
    assert code == 2 and "edgeinspect.toml" in err and "Recursion" not in err


@pytest.mark.parametrize(
    "text, needle",
    [
        ("tool = 1\n", None),  # not our table: the pyproject has no edgeinspect configuration
        ("[tool]\nedgeinspect = 'x'\n", None),
        ("[tool.edgeinspect]\nlint = 3\n", "must be a table"),
        ("[tool.edgeinspect.lint]\nmax-delegates = {EthosUBackend = 'x'}\n", "max-delegates.EthosUBackend must be a whole number"),
        ("[tool.edgeinspect.lint]\noverrides = [1]\n", "overrides[0] must be a table"),
        ("[tool.edgeinspect.lint]\nexclude = [1]\n", "exclude must be a list of globs"),
    ],
)
def test_configuration_fields_of_the_wrong_type(model, capsys, tmp_path, text, needle):
    (tmp_path / "pyproject.toml").write_text("# edgeinspect\n" + text)
    code, _, err = run_cli(capsys, "lint", "m.pte", "--config", str(tmp_path / "pyproject.toml"))
    if needle is None:
        assert code == 1 and err == ""  # linted with the defaults
    else:
        assert code == 2 and "pyproject.toml" in err and needle in err and "internal error" not in err, err


def test_written_baselines_follow_the_schema(model, capsys):
    run_cli(capsys, "lint", "m.pte", "--write-baseline", "b.json")
    with open("b.json", encoding="utf-8") as f:
        doc = json.load(f)
    assert problem(doc, BASELINE_SCHEMA) is None
    assert Baseline.read("b.json").record("m.pte")["methods"]["forward"]["transitions"] == 6


# -- our schema check agrees with jsonschema (a dev dependency; the core does not import it) -----
def _jsonschema():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft7Validator.check_schema(BASELINE_SCHEMA)
    return jsonschema.Draft7Validator(BASELINE_SCHEMA)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-1, 1, allow_nan=False) | st.sampled_from(["", "EthosUBackend", "x"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "transitions", "methods", "forward"]), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ("delegated_subgraphs", "transitions", "boundary_bytes", "cpu_islands", "coverage", "extra")


@settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=3), drop=st.sets(st.sampled_from(FIELDS[:4]), max_size=2))
def test_schema_check_agrees_with_jsonschema(changes, drop):
    validator = _jsonschema()
    doc = _record(**changes)
    record = doc["files"]["m.pte"]["methods"]["forward"]
    for key in drop:
        record.pop(key, None)
    assert (problem(doc, BASELINE_SCHEMA) is None) == validator.is_valid(doc), (doc, problem(doc, BASELINE_SCHEMA))


# -- the new keys (issue 9 item 5, issue 10 item 6, issue 11 item 3): the same strictness -------
@pytest.mark.parametrize(
    "text, needle",
    [
        ("max-cpu-share = 20\n", "max-cpu-share is a fraction between 0 and 1"),
        ("max-cpu-share = nan\n", "must be a finite number"),
        ("max-cpu-share = inf\n", "must be a finite number"),
        ("max-cpu-share = true\n", "must be a number"),
        ("max-scratch-bytes = -1\n", "must not be negative"),
        ("max-scratch-bytes = 1.5\n", "must be a whole number"),
        ("max-sram-bytes = {ethos-u55-128 = 'big'}\n", "max-sram-bytes.ethos-u55-128 must be a whole number"),
        ("targets = 3\n", "must be a table of targets"),
        ('[tool.edgeinspect.lint.targets."ethos-u55-128"]\nmax-delegates = 1\n', "unknown key 'max-delegates' (per-target keys: "),
        ('[tool.edgeinspect.lint.targets."ethos-u55-128"]\nmax-scratch-bytes = "1k"\n', "must be a whole number"),
        ('[tool.edgeinspect.lint.targets."*"]\nmax-scratch-bytes = 1\n', "name a compile target"),
        ("[tool.edgeinspect.lint.targets]\nethos-u55-128 = 5\n", "must be a table of limits"),
        ('max-scratch-bytes = {ethos-u55-128 = 1}\n[tool.edgeinspect.lint.targets."ethos-u55-128"]\nmax-scratch-bytes = 2\n', "set twice"),
        ("etdumps = ['a.etdp']\n", "etdumps must be a table"),
        ('etdumps = {"m.pte" = 3}\n', "must be a non-empty string"),
        ('etrecords = {"m.pte" = "/srv/net.etrecord"}\n', "must be relative to the configuration file's folder"),
        ('etrecords = {"m.pte" = "C:/net.etrecord"}\n', "must be relative to the configuration file's folder"),
        ('etrecords = {"m.pte" = "a\\u001b[2J.etrecord"}\n', "control characters"),
        ('etdumps = {"m.pte" = "' + "x" * 5000 + '"}\n', "over 4096 characters"),
        ("[[tool.edgeinspect.lint.overrides]]\npaths = ['*.pte']\netrecords = {}\n", "'etrecords' cannot be set per path"),
    ],
)
def test_new_configuration_keys_are_checked(model, capsys, tmp_path, text, needle):
    (tmp_path / "pyproject.toml").write_text("[tool.edgeinspect.lint]\n" + text)
    for fmt in ("text", "json"):
        code, out, err = run_cli(capsys, "lint", "m.pte", "--config", str(tmp_path / "pyproject.toml"), "--format", fmt)
        assert code == 2 and "pyproject.toml" in (err if fmt == "text" else out), (text, out, err)
        assert needle in (err if fmt == "text" else out) and "internal error" not in err + out, (needle, err, out)
        if fmt == "text":
            assert len(err.strip().splitlines()) == 1 and "\x1b" not in err


def test_targets_and_thresholds_are_accepted_in_overrides(model, capsys, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.edgeinspect.lint]\nselect = ['EI5']\n\n[[tool.edgeinspect.lint.overrides]]\npaths = ['m.pte']\n"
        'max-cpu-share = 0.5\ntargets = {"ethos-u55-128" = {max-scratch-bytes = 1}}\n'
    )
    code, out, err = run_cli(capsys, "lint", "m.pte", "--format", "json")
    assert code == 1 and {f["code"] for f in json.loads(out)["findings"]} == {"EI501"}, err


@pytest.mark.parametrize(
    "options, needle",
    [
        (["--max-cpu-share", "lots"], "--max-cpu-share takes a fraction (0.2) or a percentage (20%)"),
        (["--max-cpu-share", "120%"], "fraction between 0 and 1"),
        (["--max-scratch-bytes", "ethos-u55-128=big"], "--max-scratch-bytes takes N or TARGET=N"),
        (["--max-sram-bytes", "-5"], "must not be negative"),
        (["--etrecord", "x.etrecord", "--etrecords"], "exclude each other"),
        (["--no-cache"], "--no-cache goes with --estimate"),
        (["--etdump", "nope.etdp"], "ETDump nope.etdp does not exist"),
        (["--warmup-runs", "-1"], "--warmup-runs must be 0 or more"),
    ],
)
def test_new_command_line_values_are_checked(model, capsys, options, needle):
    code, out, err = run_cli(capsys, "lint", "m.pte", *options)
    assert code == 2 and needle in err and "internal error" not in err, err
