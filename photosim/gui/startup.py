"""Start the window, after checking that it can start here.

On Linux, Qt draws through its X11 platform plugin (libqxcb.so), which needs
system libraries that pip cannot install (libxcb-icccm4, libxcb-keysyms1, …).
When one is missing, Qt aborts with "Could not load the Qt platform plugin
xcb" and names none of them. So before Qt is imported, the plugin's
dependencies are listed with the dynamic loader (``ldd``) and the missing
ones are named with the command that installs them.

Nothing here imports Qt: a missing library must be reported, not crash the import.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys

#: Debian/Ubuntu packages whose name does not follow the soname rule (see ``debian_package``).
_PACKAGES = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0",
             "libgobject-2.0.so.0": "libglib2.0-0", "libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1"}


def run(library_dir: str | None) -> int:
    """`photosim gui`: the window, or one plain message saying why it cannot open here (exit code 2)."""
    problem = why_not()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        from .app import main
    except ImportError as exc:
        print(f"photosim: the desktop app is not available here ({exc})", file=sys.stderr)
        return 2
    return main(library_dir)


def why_not(plugin: str | None = None) -> str | None:
    """Why the window cannot open on this machine (a message with the fix), or None if it can.

    Checked only where Qt would use its X11 plugin: Linux, with no other platform chosen
    (QT_QPA_PLATFORM=offscreen or wayland, or a Wayland session, need none of these libraries).
    """
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0]
    if platform and platform != "xcb":
        return None
    if not platform and os.environ.get("WAYLAND_DISPLAY"):
        return None
    plugin = plugin or xcb_plugin()
    if plugin is not None:
        missing = missing_libraries(plugin)
        if missing:
            return missing_message(missing)
    if not os.environ.get("DISPLAY"):
        return ("photosim: no display to open the window on ($DISPLAY is not set): start it from a desktop "
                "session (or with QT_QPA_PLATFORM=offscreen for a window nobody sees)")
    return None


def xcb_plugin() -> str | None:
    """PySide6's X11 platform plugin, found without importing Qt."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        for sub in (("Qt", "plugins"), ("plugins",)):
            path = os.path.join(base, *sub, "platforms", "libqxcb.so")
            if os.path.exists(path):
                return path
    return None


def missing_libraries(library: str) -> list[str]:
    """The sonames ``library`` needs (directly or through its dependencies) that the loader cannot find."""
    ldd = shutil.which("ldd")
    if ldd is not None:
        try:
            out = subprocess.run([ldd, library], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None:
            found = re.findall(r"^\s*(\S+)\s+=>\s+not found", out, re.MULTILINE)
            return list(dict.fromkeys(found))
    # No ldd (a minimal system): the loader names the first missing library when it fails.
    try:
        ctypes.CDLL(library)
    except OSError as exc:
        first = re.match(r"(\S+?): cannot open shared object file", str(exc))
        return [first.group(1)] if first else []
    return []


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname``, by Debian's library naming rule:
    libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0, libGL.so.1 -> libgl1."""
    if soname in _PACKAGES:
        return _PACKAGES[soname]
    name, _, version = soname.partition(".so.")
    name = name.lower()
    version = version.split(".")[0]
    if not version:
        return name
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def missing_message(sonames: list[str]) -> str:
    packages = " ".join(dict.fromkeys(debian_package(s) for s in sonames))
    return ("photosim: the window cannot start: Qt's X11 plugin needs system libraries that are not installed: "
            f"{', '.join(sonames)}.\n"
            f"On Debian or Ubuntu install them with:\n    sudo apt-get install {packages}\n"
            "(README.md lists every package the window needs.)")
