"""`photosim gui` on a real X server (Xvfb + openbox), driven from outside with xdotool as a person would:
click a photo and see its similar photos, drag three photos into the triplet slots (they open when the
drag starts) and find the triplet in the database, press Delete on a protected photo and see it refused
with nothing moved. The window tells where its controls are and what it said through its log
(gui/window_log.py); everything else is the real program. `.ci/run` installs Xvfb, openbox and xdotool."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOOLS = ("Xvfb", "openbox", "xdotool")
SCREEN = "1280x720x24"


def _free_display() -> int:
    n = 90
    while os.path.exists(f"/tmp/.X11-unix/X{n}") or os.path.exists(f"/tmp/.X{n}-lock"):
        n += 1
    return n


class Log:
    """The window's log, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []

    def wait(self, test, what: str, timeout: float = 60.0, proc=None):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in reversed(self.lines()):
                got = test(line)
                if got:
                    return got
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the window ended (exit {proc.returncode}) waiting for {what}")
            time.sleep(0.1)
        raise AssertionError(f"no {what} within {timeout:.0f} s; the window's log:\n" + "\n".join(self.lines()[-30:]))

    def place(self, name: str, proc=None, timeout: float = 60.0) -> tuple[int, int]:
        """Where ``name`` is now: its latest place, once it is in sight."""
        prefix = f"place {name} "
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in reversed(self.lines()):
                if line == f"gone {name}":
                    break
                if line.startswith(prefix):
                    x, y = line[len(prefix):].split()
                    return int(x), int(y)
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the window ended (exit {proc.returncode}) waiting for {name}")
            time.sleep(0.1)
        raise AssertionError(f"{name} not in sight within {timeout:.0f} s; the window's log:\n"
                             + "\n".join(self.lines()[-30:]))


def xdo(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, env={**os.environ, "DISPLAY": display}, timeout=30)


def show_only(display: str, text: str) -> None:
    """Ctrl+F and type: the photo grid shows the photos whose path holds ``text``."""
    xdo(display, "key", "ctrl+f")
    time.sleep(0.2)
    xdo(display, "type", "--delay", "30", text)
    time.sleep(1.0)  # the filter waits for typing to pause; the places are logged again


def drag(display: str, start: tuple[int, int], log: Log, slot: str, proc) -> None:
    """Press on a photo, move past the drag distance (the slots open), then onto the slot and let go."""
    xdo(display, "mousemove", str(start[0]), str(start[1]))
    time.sleep(0.2)
    xdo(display, "mousedown", "1")
    for step in range(1, 8):
        xdo(display, "mousemove", str(start[0] + 6 * step), str(start[1] + 3 * step))
        time.sleep(0.05)
    target = log.place(f"slot-{slot}", proc)  # logged once the dock is open
    time.sleep(0.4)
    target = log.place(f"slot-{slot}", proc)  # again: the dock may have settled its size
    for step in range(1, 6):
        x = start[0] + (target[0] - start[0]) * step // 5
        y = start[1] + (target[1] - start[1]) * step // 5
        xdo(display, "mousemove", str(x), str(y))
        time.sleep(0.08)
    time.sleep(0.2)
    xdo(display, "mouseup", "1")
    time.sleep(0.4)


@pytest.fixture
def x_server(tmp_path: Path):
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"a real X server needs {', '.join(missing)} (apt-get install xvfb openbox xdotool)")
    n = _free_display()
    display = f":{n}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", SCREEN, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 20
    while not os.path.exists(f"/tmp/.X11-unix/X{n}"):
        assert xvfb.poll() is None and time.monotonic() < end, "Xvfb did not start"
        time.sleep(0.1)
    wm = subprocess.Popen(["openbox"], env={**os.environ, "DISPLAY": display},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    yield display
    for p in (wm, xvfb):
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def test_the_real_window_on_an_x_server(x_server, photos, home, engine, tmp_path):
    library = home / "library"
    cli = [sys.executable, "-m", "photosim.cli", "--library", str(library)]
    subprocess.run([*cli, "index", str(photos)], check=True, capture_output=True, timeout=300)
    protected = photos / "copies"
    subprocess.run([*cli, "folders", "protect", str(protected)], check=True, capture_output=True, timeout=60)
    before = {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()}
    log = Log(tmp_path / "window.log")
    env = {**os.environ, "DISPLAY": x_server, "QT_QPA_PLATFORM": "xcb", "PHOTOSIM_WINDOW_LOG": str(log.path)}
    window = subprocess.Popen([*cli, "gui"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # The window appears on the X server.
        found = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", "photosim"],
                               env={**os.environ, "DISPLAY": x_server}, capture_output=True, text=True, timeout=60)
        assert found.returncode == 0 and found.stdout.strip(), "the window did not appear on the X server"
        xdo(x_server, "windowactivate", "--sync", found.stdout.split()[0])

        # Click a photo: its similar photos are shown.
        query = sorted((photos / "accordion").iterdir())[0]
        x, y = log.place(f"photo {query}", window)
        xdo(x_server, "mousemove", str(x), str(y), "click", "1")
        count = log.wait(lambda line: line.startswith("similar ") and line.endswith(str(query)) and
                         int(line.split()[1]), "similar results for the clicked photo", proc=window)
        assert count >= 3

        # Drag three photos into the slots, then save: the triplet is in the database.
        chosen = [sorted((photos / kind).iterdir())[n] for kind, n in (("camera", 1), ("camera", 2), ("pizza", 1))]
        for path, slot in zip(chosen, ("anchor", "positive", "negative")):
            show_only(x_server, path.parent.name)
            drag(x_server, log.place(f"photo {path}", window), log, slot, window)
        x, y = log.place("triplet-save", window)
        xdo(x_server, "mousemove", str(x), str(y), "click", "1")
        log.wait(lambda line: line.startswith("notice triplet ") and "saved" in line, "the triplet saved", proc=window)
        con = sqlite3.connect(library / "library.db")
        try:
            rows = con.execute("SELECT a.path, p.path, n.path FROM triplet_labels t JOIN photos a ON a.id = t.anchor_id "
                               "JOIN photos p ON p.id = t.positive_id JOIN photos n ON n.id = t.negative_id").fetchall()
        finally:
            con.close()
        assert [tuple(os.fsdecode(p) for p in row) for row in rows] == [tuple(str(p) for p in chosen)]

        # Delete on a protected photo: refused in a sentence, nothing asked, nothing moved.
        locked = sorted(protected.iterdir())[0]
        show_only(x_server, protected.name)
        x, y = log.place(f"photo {locked}", window)
        xdo(x_server, "mousemove", str(x), str(y), "click", "1")
        time.sleep(0.5)
        xdo(x_server, "key", "Delete")
        log.wait(lambda line: line.startswith("notice ") and "is in the protected folder" in line,
                 "the refusal", proc=window)
        assert not any(line.startswith("asked ") for line in log.lines())
        assert {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()} == before
    finally:
        window.terminate()
        try:
            out = window.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            window.kill()
            out = window.communicate()[0]
    assert window.returncode in (0, -15), out.decode(errors="replace")[-2000:]
