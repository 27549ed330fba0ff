"""Build the documentation as CI does (warnings are errors) and check what the pages say."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    cmd += ["-d", str(out / ".doctrees"), str(DOCS), str(out / "html")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    return out / "html"


def text_of(page: Path) -> str:
    body = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", html.unescape(body))


def test_every_page_is_built(site):
    for page in ("index", "quickstart", "concepts", "notebooks", "lint", "cli", "api", "security"):
        assert (site / f"{page}.html").is_file(), page
    if (DOCS / "model-explorer.md").exists():
        assert (site / "model-explorer.html").is_file()
    # the build writes nothing into the source tree
    assert not (DOCS / "_build").exists()


def test_cli_reference_is_the_real_parser(site):
    from edgeinspect.cli import build_parser

    page = text_of(site / "cli.html")
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    assert list(sub.choices)  # inspect at least
    for name, subparser in sub.choices.items():
        assert f"usage: edgeinspect {name}" in page, name
        for action in subparser._actions:
            for flag in action.option_strings:
                assert flag in page, f"{name} {flag}"


def test_concepts_define_every_metric(site):
    import edgeinspect
    from edgeinspect.analysis import method_metrics

    page = text_of(site / "concepts.html")
    with edgeinspect.load(ROOT / "tests" / "data" / "u55_upsample.pte") as program:
        keys = method_metrics(program.method())
    names = {"cpu_islands": "CPU islands", "round_trips": "round trips", "fragmentation_score": "fragmentation score"}
    for key in keys:
        assert names.get(key, key) in page, key
    for term in ("glue", "fallback", "splitter", "counterfactual", "1 - 2 / transitions", "never guesses"):
        assert term in page


def test_api_reference_comes_from_docstrings(site):
    page = (site / "api.html").read_text(encoding="utf-8")
    for anchor in (
        "edgeinspect.load",
        "edgeinspect.model.Program",
        "edgeinspect.model.TosaGraph",
        "edgeinspect.model.EthosUPayload",
        "edgeinspect.graph.tosa_graph",
        "edgeinspect.graph.method_graph",
        "edgeinspect.analysis.fragmentation.transitions",
        "edgeinspect.recommend.recommend",
        "edgeinspect.report.notebook.show_recommendations",
        "edgeinspect.errors.FormatError",
    ):
        assert f'id="{anchor}"' in page, anchor
    # a numpydoc section rendered by napoleon, not left as raw text
    assert "Parameters" in page and "----------" not in page


def test_provenance_page_says_what_loading_an_etrecord_trusts(site):
    page = text_of(site / "provenance.html")
    for term in ("only when you name it with --etrecord", "sympy.sympify", "weights_only=True", "never implicitly", "emit_stacktrace=True"):
        assert term in page, term


def test_security_page_states_the_threat_model(site):
    text = text_of(site / "security.html")
    for needle in ("Untrusted input", "ETRecords", "torch serialization", "DNS rebinding", "deleteAfterConversion", "changed since load"):
        assert needle in text, needle
    assert 'href="security.html"' in (site / "index.html").read_text(encoding="utf-8")
