"""Vela flags come from an untrusted file: only allowed options reach Vela, and --config stays
inside the installed Vela's config_files folder."""

from __future__ import annotations

import configparser
import os

import pytest
from conftest import DATA

import edgeinspect
from edgeinspect.estimate import FlagError, estimate_program, find_vela, vela_flags

EXPORTED = (
    "--accelerator-config=ethos-u55-128 --config=Arm/vela.ini --output-format=raw "
    "--system-config=Ethos_U55_High_End_Embedded --memory-mode=Shared_Sram"
)


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / "config_files" / "Arm").mkdir(parents=True)
    (tmp_path / "config_files" / "Arm" / "vela.ini").write_text("[System_Config.X]\ncore_clock=1e6\n")
    (tmp_path / "secret.ini").write_text("[System_Config.Stolen]\n")
    return str(tmp_path / "config_files")


def test_exported_flags_are_normalized(config_dir):
    assert vela_flags(EXPORTED, config_dir) == (
        "--accelerator-config=ethos-u55-128",
        "--config=Arm/vela.ini",
        "--memory-mode=Shared_Sram",
        "--output-format=raw",
        "--system-config=Ethos_U55_High_End_Embedded",
    )
    # the same options in another order, or as "--option value", give the same flags
    shuffled = (
        "--memory-mode Shared_Sram --output-format=raw --config Arm/vela.ini "
        "--system-config=Ethos_U55_High_End_Embedded --accelerator-config=ethos-u55-128"
    )
    assert vela_flags(shuffled, config_dir) == vela_flags(EXPORTED, config_dir)


def test_output_only_options_are_dropped_and_switches_kept(config_dir):
    flags = vela_flags(EXPORTED + " --verbose-all --enable-debug-db --force-symmetric-int-weights --optimise=Size", config_dir)
    assert "--verbose-all" not in flags and "--enable-debug-db" not in flags
    assert "--force-symmetric-int-weights" in flags and "--optimise=Size" in flags


def test_last_repeated_option_wins_as_in_vela(config_dir):
    flags = vela_flags("--accelerator-config=ethos-u55-64 --accelerator-config=ethos-u55-128", config_dir)
    assert flags == ("--accelerator-config=ethos-u55-128",)


def test_target_spec_fills_a_missing_accelerator(config_dir):
    assert vela_flags("--config=Arm/vela.ini", config_dir, target="ethos-u85-256")[0] == "--accelerator-config=ethos-u85-256"
    with pytest.raises(FlagError, match="no --accelerator-config"):
        vela_flags("--config=Arm/vela.ini", config_dir)
    with pytest.raises(FlagError, match="no --accelerator-config"):
        vela_flags("", config_dir, target="../../etc")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("--output-dir=/var/x", "output directory is edgeinspect's own"),
        ("--output-dir /var/x", "output directory is edgeinspect's own"),
        ("other.tosa", "a second network file"),
        ("--supported-ops-report", "an option edgeinspect does not pass"),
        ("--list-configs=Arm/vela.ini", "an option edgeinspect does not pass"),
        ("--accel=ethos-u55-128", "an option edgeinspect does not pass"),  # argparse abbreviations too
        ("--accelerator-config=ethos-u55-128;rm", "not a value --accelerator-config takes"),
        ("--system-config=../x", "not a value --system-config takes"),
        ("--arena-cache-size=-1", "not a value --arena-cache-size takes"),
        ("--output-format=html", "not a value --output-format takes"),
        ("--memory-mode", "has no value"),
    ],
)
def test_anything_else_is_refused_by_name(config_dir, flags, message):
    with pytest.raises(FlagError, match=message):
        vela_flags(EXPORTED + " " + flags, config_dir)


@pytest.mark.parametrize(
    "config",
    [
        "../secret.ini",
        "Arm/../../secret.ini",
        "~/vela.ini",
        "./Arm/vela.ini",
        "Arm/sub/vela.ini",
        "vela.ini",
        "Arm/missing.ini",
        "Arm/vela.txt",
        "/etc/passwd",
        "Arm/.vela.ini",
    ],
)
def test_config_outside_the_config_folder_is_refused(config_dir, config):
    with pytest.raises(FlagError, match="--config"):
        vela_flags(f"--accelerator-config=ethos-u55-128 --config={config}", config_dir)


def test_absolute_config_inside_the_folder_is_passed_in_relative_form(config_dir):
    inside = os.path.join(config_dir, "Arm", "vela.ini")
    assert "--config=Arm/vela.ini" in vela_flags(f"--accelerator-config=ethos-u55-128 --config={inside}", config_dir)
    outside = os.path.join(config_dir, "..", "secret.ini")
    with pytest.raises(FlagError, match="outside the installed Vela's config_files"):
        vela_flags(f"--accelerator-config=ethos-u55-128 --config={outside}", config_dir)


def test_a_symlink_out_of_the_config_folder_is_refused(config_dir):
    os.symlink(os.path.join(config_dir, "..", "secret.ini"), os.path.join(config_dir, "Arm", "link.ini"))
    with pytest.raises(FlagError, match="no such config file"):
        vela_flags("--accelerator-config=ethos-u55-128 --config=Arm/link.ini", config_dir)


def test_control_characters_in_a_refused_flag_are_escaped(config_dir):
    with pytest.raises(FlagError) as info:
        vela_flags("--evil\x1b[31m=1", config_dir)
    assert "\x1b" not in str(info.value) and "\\x1b" in str(info.value)


def test_relative_config_resolves_to_the_installed_vela_ini():
    """The exported ``--config=Arm/vela.ini`` is the installed Vela's own file: the estimate's
    system config and clock are the ones that file defines."""
    install = find_vela()
    flags = vela_flags(EXPORTED, install.config_dir)
    assert "--config=Arm/vela.ini" in flags
    ini = os.path.join(install.config_dir, "Arm", "vela.ini")
    assert os.path.isfile(ini)
    parser = configparser.ConfigParser()
    parser.read(ini)
    clock = float(parser["System_Config.Ethos_U55_High_End_Embedded"]["core_clock"])
    program = edgeinspect.load(DATA / "u55_cnn.pte", tosa=DATA / "u55_cnn.tosa.d")
    est = estimate_program(program, cache=False)["forward"][0].estimate
    assert est.system_config == "Ethos_U55_High_End_Embedded" and est.core_clock_hz == clock
    assert est.flags == flags
