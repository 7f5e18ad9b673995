"""Starting: `--library` before or after any command, and `photosim gui` naming the system libraries
the window lacks (with the command that installs them) instead of Qt's abort."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from support.helpers import ROOT

from photosim.cli import build_parser, main
from photosim.gui import startup


@pytest.mark.parametrize("argv", [
    ["--library", "{lib}", "info", "--json"],
    ["info", "--json", "--library", "{lib}"],
    ["info", "--library", "{lib}", "--json"],
    ["--library", "{elsewhere}", "info", "--json", "--library", "{lib}"],  # the one after the command wins
])
def test_library_option_before_or_after_the_command(tmp_path, capsys, argv):
    lib = str(tmp_path / "lib")
    argv = [a.format(lib=lib, elsewhere=str(tmp_path / "not this one")) for a in argv]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["library"] == lib
    assert not (tmp_path / "not this one").exists()


def test_every_command_takes_the_library_option_after_it(tmp_path):
    parser = build_parser()
    for argv in (["gui"], ["dupes", "--json"], ["index"], ["label", "list"], ["label", "same", "a", "b"],
                 ["folders", "remove", "x"], ["models", "use", "0"], ["config", "dupes.threshold"], ["undo"]):
        assert parser.parse_args([*argv, "--library", "D"]).library == "D", argv
        assert parser.parse_args(["--library", "D", *argv]).library == "D", argv
        assert parser.parse_args(argv).library is None, argv


def test_debian_package_names_follow_the_library_names():
    names = {"libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1",
             "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libGL.so.1": "libgl1", "libX11-xcb.so.1": "libx11-xcb1",
             "libdbus-1.so.3": "libdbus-1-3", "libglib-2.0.so.0": "libglib2.0-0", "libxcb-cursor.so.0": "libxcb-cursor0"}
    assert {s: startup.debian_package(s) for s in names} == names
    message = startup.missing_message(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in message
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in message


@pytest.fixture
def plugin_missing_a_library(tmp_path) -> str:
    """A shared library standing in for Qt's plugin, linked against a library that is then removed."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a plugin with a missing dependency")
    (tmp_path / "gone.c").write_text("int gone(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int gone(void);\nint plugin(void) { return gone(); }\n")
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(tmp_path / "libphotosimgone.so"), str(tmp_path / "gone.c"),
                    "-Wl,-soname,libphotosimgone.so.3"], check=True)
    plugin = str(tmp_path / "libqxcb.so")
    subprocess.run([cc, "-shared", "-fPIC", "-o", plugin, str(tmp_path / "plugin.c"), f"-L{tmp_path}",
                    "-lphotosimgone"], check=True)
    os.remove(tmp_path / "libphotosimgone.so")
    return plugin


@pytest.mark.parametrize("with_ldd", [True, False])
def test_a_missing_library_of_the_plugin_is_named_with_its_package(plugin_missing_a_library, monkeypatch, tmp_path,
                                                                   with_ldd):
    if not with_ldd:
        monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))  # the loader's own error names it then
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    message = startup.why_not(plugin_missing_a_library)
    assert message is not None
    assert "libphotosimgone.so.3" in message and "sudo apt-get install libphotosimgone3" in message
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # a platform that needs no X11 libraries
    assert startup.why_not(plugin_missing_a_library) is None


def test_gui_without_a_display_says_why_instead_of_aborting(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "photosim.cli", "gui", "--library", str(tmp_path / "lib")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("photosim: ") and "Qt platform plugin" not in proc.stderr
    assert "no display" in proc.stderr or "sudo apt-get install" in proc.stderr


def test_readme_names_every_package_of_the_x11_libraries_qt_needs():
    plugin = startup.xcb_plugin()
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None:
        pytest.skip("no PySide6 X11 plugin or no ldd here to list its libraries")
    needed = re.findall(r"^\s*(lib(?:xcb|X11|xkbcommon|GL\.|EGL|fontconfig|dbus)\S*)\s+=>",
                        subprocess.run([ldd, plugin], capture_output=True, text=True).stdout, re.MULTILINE)
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if "apt-get install" in line and "libxcb" in line)
    listed = set(line.split("install", 1)[1].split())
    wanted = {startup.debian_package(s) for s in needed}
    assert len(wanted) > 10 and wanted <= listed, f"README's apt-get line lacks {sorted(wanted - listed)}"
