"""The Linux desktop entry validates, and its icon exists."""
from __future__ import annotations

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
