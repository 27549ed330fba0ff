"""Configuration: discovery by walking up, standalone file, --config, per-path overrides, CLI precedence."""

from __future__ import annotations

import json

import pytest
from lint_helpers import copy_fixture, run_cli

from edgeinspect.errors import UsageError
from edgeinspect.lint.config import find_config, glob_match, load_config, parse_options


def _codes(out: str) -> list[str]:
    return [f["code"] for f in json.loads(out)["findings"]]


def test_pyproject_found_by_walking_up(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.edgeinspect.lint]\nmax-delegates = {EthosUBackend = 3}\n')
    sub = tmp_path / "models" / "deep"
    model = copy_fixture("u55_multi", sub / "net.pte")
    monkeypatch.chdir(sub)
    assert find_config() == tmp_path / "pyproject.toml"
    code, out, _ = run_cli(capsys, "lint", "net.pte", "--format", "json")
    assert "EI101" not in _codes(out) and "EI102" in _codes(out) and code == 1
    # --isolated ignores the file.
    code, out, _ = run_cli(capsys, "lint", str(model), "--format", "json", "--isolated")
    assert "EI101" in _codes(out)


def test_pyproject_without_our_table_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "edgeinspect.toml").write_text("[lint]\nignore = ['EI102']\n")
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    monkeypatch.chdir(inner)
    assert find_config() == tmp_path / "edgeinspect.toml"


def test_standalone_file_and_per_path_overrides(tmp_path, monkeypatch, capsys):
    (tmp_path / "edgeinspect.toml").write_text(
        "[lint]\nselect = ['EI1']\n\n[[lint.overrides]]\npaths = ['legacy/**/*.pte']\nmax-delegates = 3\nignore = ['EI102']\n"
    )
    copy_fixture("u55_multi", tmp_path / "legacy" / "old" / "net.pte")
    copy_fixture("u55_multi", tmp_path / "new" / "net.pte")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "lint", ".", "--format", "json")
    doc = json.loads(out)
    by_file: dict[str, list[str]] = {}
    for f in doc["findings"]:
        by_file.setdefault(f["path"].replace("\\", "/").lstrip("./"), []).append(f["code"])
    assert "legacy/old/net.pte" not in by_file  # overridden: 3 delegates allowed, islands ignored
    assert sorted(by_file["new/net.pte"]) == ["EI101", "EI102", "EI102"]
    assert code == 1


def test_command_line_overrides_the_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "edgeinspect.toml").write_text("[lint]\nmax-delegates = 3\nignore = ['EI102']\n")
    copy_fixture("u55_multi", tmp_path / "net.pte")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "lint", "net.pte", "--format", "json")
    assert _codes(out) == [] and code == 0
    code, out, _ = run_cli(capsys, "lint", "net.pte", "--format", "json", "--max-delegates", "EthosUBackend=1")
    assert _codes(out) == ["EI101"] and code == 1


def test_explicit_config_file(tmp_path, capsys):
    cfg = tmp_path / "ci.toml"
    cfg.write_text("[lint]\nselect = ['EI102']\nseverity = {EI102 = 'note'}\n")
    model = copy_fixture("u55_multi", tmp_path / "net.pte")
    code, out, _ = run_cli(capsys, "lint", str(model), "--config", str(cfg), "--format", "json")
    doc = json.loads(out)
    assert {f["code"] for f in doc["findings"]} == {"EI102"}
    assert {f["severity"] for f in doc["findings"]} == {"note"}
    assert code == 0  # notes never fail


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[lint]\nmax-delegatez = 1\n", "unknown key 'max-delegatez'"),
        ("[lint]\nmax-delegates = 'one'\n", "must be a whole number"),
        ("[lint]\nmin-coverage = 90\n", "fraction between 0 and 1"),
        ("[lint]\nselect = ['XY9']\n", "matches no rule"),
        ("[lint]\nseverity = {EI101 = 'fatal'}\n", "must be one of error, warning, note"),
        ("[lint\n", "invalid TOML"),
        ("[[lint.overrides]]\nmax-delegates = 2\n", "needs 'paths'"),
    ],
)
def test_bad_configuration_is_a_usage_error_exit_2(tmp_path, capsys, text, needle):
    cfg = tmp_path / "edgeinspect.toml"
    cfg.write_text(text)
    with pytest.raises(UsageError) as info:
        load_config(cfg)
    assert needle in str(info.value)
    model = copy_fixture("xnn_mlp", tmp_path / "m.pte")
    for fmt in ("text", "json", "sarif"):
        code, out, err = run_cli(capsys, "lint", str(model), "--config", str(cfg), "--format", fmt)
        assert code == 2, (fmt, out, err)
        assert "Traceback" not in out + err
        if fmt == "text":
            assert needle in err and len(err.strip().splitlines()) == 1
        else:
            assert needle in out  # the error is inside the document


def test_bad_command_line_values():
    with pytest.raises(UsageError, match="BACKEND=N"):
        parse_options(max_delegates=["EthosUBackend=x"])
    with pytest.raises(UsageError, match="percentage"):
        parse_options(min_coverage="most")
    with pytest.raises(UsageError, match="CODE=LEVEL"):
        parse_options(severity=["EI101"])
    assert parse_options(min_coverage="90%") == {"min_coverage": 0.9}


def test_glob_semantics():
    assert glob_match("a/b/c.pte", "**/*.pte")
    assert glob_match("c.pte", "**/*.pte")
    assert not glob_match("a/b/c.pte", "a/*.pte")
    assert glob_match("a/b/c.pte", "a/**")
    assert glob_match("deep/x/model_v2.pte", "model_v?.pte")
