"""The estimate cache: keyed by dump bytes, flags and Vela version; written atomically; an
entry that does not check out is ignored and made again, never trusted."""

from __future__ import annotations

import json
import os

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.estimate import EstimateCache, VelaEstimate, default_cache_dir, estimate_dump, estimate_program
from edgeinspect.estimate import program as program_module
from edgeinspect.estimate import vela as vela_module

DUMP = DATA / "u55_multi.tosa.d" / "output_tag0_TOSA-1.0+INT+int16+int4+u55.tosa"
FLAGS = (
    "--accelerator-config=ethos-u55-128 --config=Arm/vela.ini --output-format=raw "
    "--system-config=Ethos_U55_High_End_Embedded --memory-mode=Shared_Sram"
)


class VelaRuns:
    """Counts the graphs really compiled by Vela (the compiler still runs)."""

    def __init__(self, monkeypatch):
        self.count = 0
        real = vela_module.run_vela_many

        def counting(items, *args, **kwargs):
            self.count += len(items)
            return real(items, *args, **kwargs)

        monkeypatch.setattr(vela_module, "run_vela_many", counting)
        monkeypatch.setattr(program_module, "run_vela_many", counting)


@pytest.fixture
def runs(monkeypatch):
    return VelaRuns(monkeypatch)


def _entries(directory):
    return sorted(p for p in directory.iterdir() if p.suffix == ".json") if directory.exists() else []


def test_default_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "edgeinspect" / "vela"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # invalid per the XDG spec
    assert default_cache_dir() == type(tmp_path)(os.path.expanduser("~")) / ".cache" / "edgeinspect" / "vela"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir().parts[-3:] == (".cache", "edgeinspect", "vela")


def test_second_run_comes_from_the_cache(monkeypatch, tmp_path, runs):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    program = edgeinspect.load(DATA / "u55_multi.pte", tosa=DATA / "u55_multi.tosa.d")
    first = estimate_program(program)
    assert runs.count == 3
    cache_dir = tmp_path / "edgeinspect" / "vela"
    assert len(_entries(cache_dir)) == 3
    assert not [p for p in cache_dir.iterdir() if p.suffix != ".json"]  # no temporary file left behind
    second = estimate_program(program)
    assert runs.count == 3
    assert {i: r.estimate for i, r in second["forward"].items()} == {i: r.estimate for i, r in first["forward"].items()}


def test_no_cache_bypasses_reading_and_writing(monkeypatch, tmp_path, runs):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    estimate_dump(DUMP.read_bytes(), FLAGS)
    assert runs.count == 1
    estimate_dump(DUMP.read_bytes(), FLAGS, cache=False)
    assert runs.count == 2
    other = tmp_path / "other"
    estimate_dump(DUMP.read_bytes(), FLAGS, cache=False, cache_dir=other)
    assert not other.exists()


def test_key_changes_with_bytes_and_flags(tmp_path, runs):
    data = DUMP.read_bytes()
    estimate_dump(data, FLAGS, cache_dir=tmp_path)
    estimate_dump(data, FLAGS.replace("Shared_Sram", "Sram_Only"), cache_dir=tmp_path)
    assert runs.count == 2
    # equal flags in another order are the same key
    estimate_dump(data, " ".join(reversed(FLAGS.split())), cache_dir=tmp_path)
    assert runs.count == 2
    # one changed byte is another dump (the figures may not even change: a constant's value)
    other = DATA / "u55_upsample.tosa.d" / "output_tag0_TOSA-1.0+INT+int16+int4+u55.tosa"
    estimate_dump(other.read_bytes(), FLAGS, cache_dir=tmp_path)
    assert runs.count == 3
    assert len(_entries(tmp_path)) == 3


def test_key_changes_with_vela_version(tmp_path, runs, monkeypatch):
    estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    real = program_module.find_vela()
    monkeypatch.setattr(program_module, "find_vela", lambda: type(real)("0.0.0-other", real.package_parent, real.config_dir))
    estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    assert runs.count == 2


def _only_entry(directory):
    (entry,) = _entries(directory)
    return entry


def _tamper(entry, change):
    doc = json.loads(entry.read_text())
    change(doc)
    entry.write_text(json.dumps(doc))


def _rehash(doc):
    from edgeinspect.estimate.cache import _estimate_digest

    doc["estimate_sha256"] = _estimate_digest(doc["estimate"])


def _set_cycles(doc, value, rehash=True):
    doc["estimate"]["cycles_total"] = value
    if rehash:
        _rehash(doc)


HOSTILE = {
    "garbage": lambda e: e.write_bytes(b"\x00\xffnot json"),
    "empty": lambda e: e.write_bytes(b""),
    "truncated": lambda e: e.write_bytes(e.read_bytes()[:100]),
    "deep nesting": lambda e: e.write_text("[" * 100000 + "]" * 100000),
    "huge number": lambda e: e.write_text(e.read_text().replace('"nn_macs":', '"nn_macs":' + "9" * 5000 + ',"x":')),
    "figure changed, digest not": lambda e: _tamper(e, lambda d: _set_cycles(d, 1, rehash=False)),
    "figure changed, digest too": lambda e: _tamper(e, lambda d: _set_cycles(d, 1)),
    "negative count": lambda e: _tamper(e, lambda d: _set_cycles(d, -5)),
    "string for a count": lambda e: _tamper(e, lambda d: _set_cycles(d, "24188")),
    "bool for a count": lambda e: _tamper(e, lambda d: (d["estimate"].__setitem__("batch_size", True), _rehash(d))),
    "extra key": lambda e: _tamper(e, lambda d: (d["estimate"].__setitem__("evil", 1), _rehash(d))),
    "missing layers": lambda e: _tamper(e, lambda d: (d["estimate"].pop("layers"), _rehash(d))),
    "other inputs": lambda e: _tamper(e, lambda d: d["inputs"].__setitem__("vela", "9.9.9")),
    "time not cycles/clock": lambda e: _tamper(e, lambda d: (d["estimate"].__setitem__("inference_time_s", 1.0), _rehash(d))),
    "nan": lambda e: e.write_text(e.read_text().replace('"nn_tops":', '"nn_tops":NaN,"x":')),
}


@pytest.mark.parametrize("how", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_entry_is_ignored_and_replaced(tmp_path, runs, how):
    good = estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    entry = _only_entry(tmp_path)
    HOSTILE[how](entry)
    again = estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    assert runs.count == 2 and again == good
    # the entry was written again, and now serves
    estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    assert runs.count == 2


def test_entry_that_is_a_symlink_or_fifo_is_not_followed(tmp_path, runs):
    estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    entry = _only_entry(tmp_path)
    real = tmp_path / "elsewhere.json"
    os.replace(entry, real)
    os.symlink(real, entry)
    estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    assert runs.count == 2
    assert not entry.is_symlink()  # replaced by a real entry, the link's target untouched
    assert real.read_text() == entry.read_text()
    os.unlink(entry)
    os.mkfifo(entry)  # reading it would block forever
    estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    assert runs.count == 3


def test_cache_directory_that_is_not_usable_is_skipped(tmp_path, runs):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    est = estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=blocker / "vela")
    assert isinstance(est, VelaEstimate) and runs.count == 1
    link = tmp_path / "link"
    os.symlink(tmp_path, link)  # a cache dir that is a symbolic link is not ours to trust
    assert EstimateCache(link).put("k", {}, est) is False


def test_roundtrip_is_exact(tmp_path):
    est = estimate_dump(DUMP.read_bytes(), FLAGS, cache_dir=tmp_path)
    assert VelaEstimate.from_dict(json.loads(json.dumps(est.to_dict()))) == est
