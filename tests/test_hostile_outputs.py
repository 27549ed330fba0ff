"""Outputs stay proportional to the input, and inert, whatever the names in a file hold
(issue 12, items 3 and 5). Every hostile file is built here, in the test.

Size: an operator name of 100,000 characters used by 1,000 kernels (a 190 KB file) once made
``inspect`` print 200 MB, ``report`` write 300 MB and ``lint --format junit`` 200 MB; every
command's output must now stay within :data:`RATIO` times the input, and each run within a
1.5 GiB address-space limit. Inertness: names holding a newline, ESC, BEL, NUL and
``::error::`` must reach no terminal and no CI log raw, in any format, stderr included.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest
from crafted import TOSA_ADD, build_pte, build_tosa, named_pte, tensor

#: Largest output / input size ratio accepted for any command (measured: at most about 20).
RATIO = 40
LIMIT = 3 << 29  # 1.5 GiB of address space per command

LONG = "x" * 100_000
#: Everything a name must not smuggle through: a workflow command, a terminal reset, a bell, NUL.
EVIL = "evil\n::error::pwned\r\x1b[2J\x1b]0;title\x07\x00\u202eop"
RAW = ("\x1b", "\x07", "\x00", "\r", "\u202e")

_CHILD = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    from edgeinspect.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _run(*args: str, limit: bool = True) -> subprocess.CompletedProcess[bytes]:
    code = _CHILD.format(limit=LIMIT) if limit else "import sys; from edgeinspect.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=300)


def _long_pte(islands: int = 1000) -> bytes:
    """1,000 kernels of one operator named with 100,000 characters, between 1,001 delegate calls."""
    return named_pte(operator=LONG, backend="XnnpackBackend", method="forward", islands=islands)


def _long_tosa(operators: int = 1000) -> bytes:
    """A .tosa whose region and block names (part of every node's key) and input and output
    tensor names are 100,000 characters long, with ``operators`` operators in a chain."""
    a, b = "a" * 100_000, "b" * 100_000
    names = [a, *(f"t{k}" for k in range(operators - 1)), b]
    ops = [(TOSA_ADD, [names[k], names[k]], [names[k + 1]]) for k in range(operators)]
    tensors = [(n, (1, 4)) for n in names]
    return build_tosa(operators=ops, tensors=tensors, inputs=[a], outputs=[b], region="r" * 100_000, block="k" * 100_000)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    long_pte, long_tosa = d / "long.pte", d / "long.tosa"
    long_pte.write_bytes(_long_pte())
    long_tosa.write_bytes(_long_tosa())
    head = d / "head.pte"
    head.write_bytes(_long_pte(islands=900))  # diff: a different count of the same operator
    return {"pte": long_pte, "tosa": long_tosa, "head": head, "dir": d}


LINT_FORMATS = ("text", "json", "sarif", "github", "junit")


def _cases(f: dict) -> list[tuple[str, list[str]]]:
    pte, tosa = str(f["pte"]), str(f["tosa"])
    out = [
        ("inspect", ["inspect", pte]),
        ("inspect json", ["inspect", pte, "--format", "json"]),
        ("inspect tosa", ["inspect", tosa]),
        ("inspect tosa json", ["inspect", tosa, "--format", "json"]),
        ("explain", ["explain", pte]),
        ("explain json", ["explain", pte, "--format", "json"]),
        ("diff", ["diff", pte, str(f["head"])]),
        ("diff json", ["diff", pte, str(f["head"]), "--format", "json"]),
    ]
    out += [(f"lint {fmt}", ["lint", pte, tosa, "--format", fmt, "--max-transitions", "0"]) for fmt in LINT_FORMATS]
    return out


def test_every_command_output_is_proportional_to_the_input(files):
    size = files["pte"].stat().st_size + files["tosa"].stat().st_size
    assert files["pte"].stat().st_size < 200_000  # the file of the issue: 1,000 uses of one 100,000-character name
    for label, args in _cases(files):
        proc = _run(*args)
        assert proc.returncode in (0, 1), (label, proc.stderr[-2000:])
        out = len(proc.stdout) + len(proc.stderr)
        assert out <= RATIO * size, f"{label}: {out:,} bytes of output from {size:,} bytes of input"
        assert b"x" * 1000 not in proc.stdout and b"a" * 1000 not in proc.stdout, label  # abbreviated...
        assert re.search(rb"\(1000\d\d chars\)", proc.stdout) or label.startswith(("explain", "diff")), label  # ...length said


@pytest.mark.parametrize("kind", ["pte", "tosa"])
def test_report_is_proportional_to_the_input(files, kind):
    out = files["dir"] / f"{kind}.html"
    proc = _run("report", str(files[kind]), "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.stat().st_size <= RATIO * files[kind].stat().st_size, out.stat().st_size
    assert re.search(r"\(1000\d\d chars\)", out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", ["pte", "tosa"])
def test_view_convert_and_overlays_are_proportional_to_the_input(files, kind):
    pytest.importorskip("model_explorer")
    import edgeinspect_explorer.main as adapter
    from model_explorer.utils import convert_adapter_response

    import edgeinspect
    from edgeinspect.report.overlays import overlays

    served = json.dumps(convert_adapter_response(adapter.EdgeInspectAdapter().convert(str(files[kind]), {})))
    size = files[kind].stat().st_size
    assert len(served) <= RATIO * size
    # What edgeinspect view's own server sends (the same graphs, built node by node).
    from edgeinspect_explorer.graphs import convert_json

    from edgeinspect.join import load_for_view

    body, _ = convert_json(load_for_view(files[kind]), str(files[kind]))
    assert len(body) <= RATIO * size
    assert json.loads(body)["graphCollections"][0]["graphs"] == json.loads(served)["graphCollections"][0]["graphs"]
    if kind == "pte":
        with edgeinspect.load(files[kind]) as program:
            docs = overlays(program)
        assert len(json.dumps(docs)) <= RATIO * size
        graph_ids = {g["id"] for c in json.loads(served)["graphCollections"] for g in c["graphs"]}
        assert all(set(doc) <= graph_ids for doc in docs.values())  # overlays still name the adapter's graphs


def test_long_region_and_block_names_do_not_multiply_graph_keys():
    """A TOSA node key repeats its region and block names: long ones are shortened (still unique)."""
    import edgeinspect

    g = edgeinspect.load(_long_tosa(operators=50), name="long.tosa").to_networkx()
    assert g.number_of_nodes() == 52 and max(len(str(n)) for n in g.nodes) < 600


# -- control characters ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    d = tmp_path_factory.mktemp("evil")
    pte = d / "evil.pte"
    pte.write_bytes(named_pte(operator=EVIL, backend="Xnn" + EVIL, method="fwd" + EVIL))
    head = d / "head.pte"
    head.write_bytes(named_pte(operator=EVIL, backend="Xnn" + EVIL, method="fwd" + EVIL, islands=2))
    tosa = d / "evil.tosa"
    tosa.write_bytes(build_tosa(operators=[(TOSA_ADD, [EVIL], [EVIL])], tensors=[(EVIL, (1,))], inputs=[EVIL], outputs=[EVIL], region=EVIL))
    # A corrupt file whose NAME holds the characters: its path reaches error messages.
    bad = d / f"bad{EVIL.replace(chr(0), '')}.pte"
    bad.write_bytes(b"\0\0\0\0ET12" + b"\xff" * 40)
    return {"pte": pte, "head": head, "tosa": tosa, "bad": bad, "dir": d}


def _assert_inert(text: str, what: str) -> None:
    for c in RAW:
        assert c not in text, f"{what}: raw {c!r} in the output"
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), f"{what}: a line starts a workflow command: {line[:80]!r}"


def test_human_readable_outputs_and_stderr_are_inert(evil):
    pte, head, tosa, bad = (str(evil[k]) for k in ("pte", "head", "tosa", "bad"))
    for args in (
        ["inspect", pte],
        ["inspect", tosa],
        ["explain", pte],
        ["diff", pte, head],
        ["lint", pte, tosa, bad, "--max-transitions", "0"],
        ["inspect", bad],  # a FormatError naming the file
        ["inspect", pte, "--method", "nope"],  # a UsageError listing the (evil) method names
        ["report", pte, "-o", str(evil["dir"] / "r.html")],
    ):
        proc = _run(*args, limit=False)
        assert proc.returncode in (0, 1, 2), (args, proc.stderr[-2000:])
        for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            _assert_inert(stream.decode("utf-8"), f"{args[0]} {name}")
    assert "\\n::error::pwned" in _run("inspect", pte, limit=False).stdout.decode()  # shown, escaped


def test_html_report_shows_no_control_character(evil):
    out = evil["dir"] / "evil.html"
    assert _run("report", str(evil["pte"]), "-o", str(out), limit=False).returncode == 0
    text = out.read_text(encoding="utf-8")
    for c in RAW:
        assert c not in text
    assert "\\x1b[2J" in text and "<script" not in text


@pytest.mark.parametrize("fmt", LINT_FORMATS)
def test_every_lint_format_parses_and_leaks_nothing(evil, fmt):
    proc = _run("lint", str(evil["pte"]), str(evil["tosa"]), str(evil["bad"]), "--max-transitions", "0", "--format", fmt, limit=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    out = proc.stdout.decode("utf-8")
    for c in RAW:
        assert c not in out, f"raw {c!r} in --format {fmt}"
    if fmt in ("json", "sarif"):
        doc = json.loads(out)
        text = json.dumps(doc)
        assert "::error::pwned" in text  # the data is there, as JSON-escaped text
    elif fmt == "junit":
        root = ET.fromstring(out)  # well-formed XML whatever the names hold
        failures = root.findall(".//failure")
        assert failures and all("\\n::error::pwned" in f.get("message") for f in failures if "evil" in f.get("message"))
    elif fmt == "github":
        commands = [line for line in out.splitlines() if line.startswith("::")]
        findings = json.loads(
            _run(
                "lint", str(evil["pte"]), str(evil["tosa"]), str(evil["bad"]), "--max-transitions", "0", "--format", "json", limit=False
            ).stdout
        )
        assert len(commands) == len(findings["findings"]) + len(findings["errors"])  # one command per finding, none injected
        for line in commands:
            head, _, message = line[2:].partition("::")
            assert head.split(" ", 1)[0] in ("error", "warning", "notice")
            assert "\n" not in message and "::error::pwned" not in head
            for prop in head.split(" ", 1)[1].split(","):
                key, _, value = prop.partition("=")
                assert key in ("file", "title") and ":" not in value  # properties escape ':' and ','
    else:
        _assert_inert(out, "lint text")
        _assert_inert(proc.stderr.decode("utf-8"), "lint stderr")


def test_github_escaping_follows_the_toolkit():
    from edgeinspect.textsafe import github_data, github_property

    assert github_data("100%\r\n::error::x") == "100%25%0D%0A::error::x"
    assert github_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_size_limit_constants_hold_for_honest_names(tmp_path):
    """Real names (operators, backends, tensors) are far below the abbreviation limit: nothing
    of a real file is abbreviated."""
    from conftest import DATA

    from edgeinspect.textsafe import NAME_LIMIT

    proc = _run("inspect", str(DATA / "u55_multi.pte"), "--format", "json", limit=False)
    assert b"chars)" not in proc.stdout and NAME_LIMIT >= 200


def test_shared_argument_and_name_vectors_are_refused_not_multiplied():
    """Readers refuse what would multiply the graph: calls aliasing one argument vector, TOSA
    operators aliasing one tensor-name vector (old figures: 32 KB -> 1,000,000 edges and 300 MB;
    48 KB -> 400,000 edges and 150 MB)."""
    from crafted import aliased_args_pte, aliased_inputs_tosa

    import edgeinspect

    for data, what in ((aliased_args_pte(), "arguments"), (aliased_inputs_tosa(), "tensors")):
        assert len(data) < 50_000
        with pytest.raises(edgeinspect.FormatError, match=f"name .*{what}.* hostile file multiplying the graph"):
            edgeinspect.load(data, name="alias")


def test_small_honest_sharing_still_reads():
    import edgeinspect

    values = [tensor(1, 4) for _ in range(3)]
    data = build_pte(values=values, instructions=[("kernel", 0, (0, 1, 1))] * 4, operators=[("aten::relu", "out")], share_vectors=True)
    with edgeinspect.load(data, name="small.pte") as p:
        assert len(p.method().instructions) == 4


def test_a_1_mb_name_used_by_1000_kernels_lints_within_the_memory_limit(tmp_path):
    """The 1.2 MB file of the issue: lint once ran out of memory on it (10.7 GB measured)."""
    big = tmp_path / "big.pte"
    big.write_bytes(named_pte(operator="y" * 1_000_000, islands=1000))
    assert big.stat().st_size < 1_300_000
    for fmt in LINT_FORMATS:
        proc = _run("lint", str(big), "--format", fmt)
        assert proc.returncode == 1, (fmt, proc.stderr[-2000:])
        assert len(proc.stdout) <= RATIO * big.stat().st_size
