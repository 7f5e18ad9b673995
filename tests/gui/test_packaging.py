"""The Linux desktop entry validates, and its icon exists."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def test_desktop_entry_validates():
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate not installed (Debian/Ubuntu: apt-get install -y desktop-file-utils)")
    entry = PACKAGING / "photosim.desktop"
    out = subprocess.run([tool, str(entry)], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_desktop_entry_names_an_existing_icon_and_command():
    text = (PACKAGING / "photosim.desktop").read_text()
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert (PACKAGING / f"{fields['Icon']}.svg").exists() and (PACKAGING / f"{fields['Icon']}.png").exists()
    assert fields["Exec"].split()[:2] == ["photosim", "gui"]


def test_bundle_entry_point_runs_modules_and_the_cli(tmp_path, caltech):
    """In the bundle, sys.executable is launch.py's program: the crash-contained decoder is started
    as `photosim -m photosim.core.safe_decode` and the window's indexer as `photosim --library ...`."""
    import sys

    photo = sorted((caltech / "accordion").iterdir())[0]
    hexpath = os.fsencode(str(photo)).hex()
    child = subprocess.run([sys.executable, str(PACKAGING / "launch.py"), "-m", "photosim.core.safe_decode"],
                           input=hexpath + "\n", capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split("\n")[:2] == [f"start {hexpath}", f"done {hexpath}"]
    cli = subprocess.run([sys.executable, str(PACKAGING / "launch.py"), "--library", str(tmp_path / "lib"), "info"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "photos" in cli.stdout.lower()
