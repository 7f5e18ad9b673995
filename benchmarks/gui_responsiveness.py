"""How responsive the window stays: the event loop's worst stall while 1,000 photos are indexed
and the grid is scrolled, and while a 100,000-photo grid is set and scrolled end to end; and how
long Cancel takes to stop indexing.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_responsiveness.py [--thumb 160]

A 2 ms timer records the gap between its ticks: any gap beyond the interval is
time the GUI thread could not answer the user. A watchdog thread prints what
the GUI thread was doing whenever a tick is more than 60 ms late (to stderr),
so a stall names its cause. Prints the figures and writes them, with the machine's
conditions, into the marked section of docs/gui_responsiveness.md. Needs
../shared/data/caltech101-20.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from PIL import Image, ImageOps  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from photosim.core.types import Photo, PhotoState  # noqa: E402
from photosim.gui.app import preload  # noqa: E402
from photosim.gui.main_window import MainWindow  # noqa: E402
from photosim.gui.models.photo_list import make_items  # noqa: E402
from photosim.gui.thumbnails import ThumbnailLoader  # noqa: E402
from photosim.services.library import open_library  # noqa: E402

from _docs import CALTECH, conditions, write_section  # noqa: E402

DOC = os.path.join(ROOT, "docs", "gui_responsiveness.md")
#: `--thumb 160`: the grids' thumbnail side (default: the window's own default); the same cells as an
#: older window, to compare runs.
THUMB_SIDE = int(sys.argv[sys.argv.index("--thumb") + 1]) if "--thumb" in sys.argv else 0


class StallMeter:
    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.active = False
        self.last_tick: float | None = None
        self._clock = QElapsedTimer()
        self._timer = QTimer(interval=2)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self.active = True
        self.last_tick = time.monotonic()
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self.active = False
        self._timer.stop()

    def _tick(self) -> None:
        self.gaps.append(self._clock.restart())
        self.last_tick = time.monotonic()

    def worst_at(self) -> float:
        """Seconds from the start to the end of the worst stall."""
        if not self.gaps:
            return 0.0
        i = self.gaps.index(max(self.gaps))
        return sum(self.gaps[:i + 1]) / 1000

    def worst(self) -> float:
        return max(self.gaps) if self.gaps else 0.0

    def p99(self) -> float:
        g = sorted(self.gaps)
        return g[int(len(g) * 0.99)] if g else 0.0


class Watchdog(threading.Thread):
    """Dumps the GUI thread's stack when the meter has not ticked for ``late_ms``: the stall's cause."""

    def __init__(self, meter: StallMeter, late_ms: float = 60) -> None:
        super().__init__(daemon=True)
        self.meter, self.late = meter, late_ms / 1000
        self.main = threading.main_thread().ident
        self.stop = threading.Event()
        self.dumps = 0

    def run(self) -> None:
        reported = 0.0
        while not self.stop.wait(0.02):
            last = self.meter.last_tick
            if last is None or not self.meter.active:
                continue
            late = time.monotonic() - last
            if late > self.late and reported != last:
                reported = last
                self.dumps += 1
                # The GUI thread first; the others show who held the GIL when it sat inside Qt.
                frames = sys._current_frames()
                text = [f"--- GUI thread {late * 1000:.0f} ms late"]
                for ident, frame in sorted(frames.items(), key=lambda kv: kv[0] != self.main):
                    if ident != self.ident:
                        name = "GUI" if ident == self.main else f"thread {ident}"
                        text.append(f"[{name}]\n" + "".join(traceback.format_stack(frame, limit=6)))
                print("\n".join(text), file=sys.stderr)


def thousand_photos(dst: str) -> str:
    os.makedirs(dst)
    files = [os.path.join(d, f) for d, _, fs in os.walk(CALTECH) for f in sorted(fs)]
    for n, f in enumerate(files):
        shutil.copy(f, os.path.join(dst, f"{n:04d}.jpg"))
    n = len(files)
    while n < 1000:  # mirrored copies make up the rest (new bytes, so each one is embedded)
        with Image.open(files[n % len(files)]) as im:
            ImageOps.mirror(im).save(os.path.join(dst, f"{n:04d}.jpg"), quality=90)
        n += 1
    return dst


def run(app: QApplication, meter: StallMeter, window: MainWindow, until, scroll_every: float = 0.2) -> None:
    bar = window.library.grid.verticalScrollBar()
    meter.start()
    last = time.monotonic()
    while not until():
        app.processEvents()
        if time.monotonic() - last > scroll_every:
            last = time.monotonic()
            bar.setValue(bar.value() + bar.pageStep() if bar.value() < bar.maximum() else 0)
        time.sleep(0.001)
    meter.stop()


def scroll_ten_thousand(app: QApplication, meter: StallMeter, w: MainWindow, folder: str) -> dict:
    """10,000 rows over the 1,000 real files (their thumbnails are read and cached as rows come into sight),
    scrolled a step every 16 ms, as a wheel or a held arrow key does."""
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    photos = [Photo(i, files[i % len(files)], os.path.getsize(files[i % len(files)]), 1, None, 300, 200,
                    PhotoState.OK) for i in range(10_000)]
    w.resize(1280, 720)
    w.library._show(make_items(photos))
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5:
        app.processEvents()
        time.sleep(0.001)
    bar = w.library.grid.verticalScrollBar()
    bar.setValue(0)
    meter.start()
    t0 = time.monotonic()
    steps = 0
    step = max(1, bar.pageStep() // 4)  # a quarter page: a fast wheel
    while bar.value() < bar.maximum() and steps < 6000:
        bar.setValue(bar.value() + step)
        end = time.monotonic() + 0.016
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.001)
        steps += 1
    meter.stop()
    return {"side": w.library.grid.delegate.side, "steps": steps, "seconds": time.monotonic() - t0,
            "worst": meter.worst(), "p99": meter.p99(), "over": sum(g > 52 for g in meter.gaps)}


def measure_cancel(app: QApplication, tmp: str, folder: str) -> dict:
    """Index the same photos into a fresh library, click Cancel once embedding is under way."""
    lib = open_library(os.path.join(tmp, "library-cancel"))
    w = MainWindow(lib, QSettings(os.path.join(tmp, "s2.ini"), QSettings.IniFormat),
                   ThumbnailLoader(os.path.join(tmp, "thumbs")))
    w.show()
    w.index([folder])
    while not (w.progress.maximum() > 0 and w.progress.value() >= 64):
        app.processEvents()
        time.sleep(0.005)
    done = w.progress.value()
    w.cancel.click()
    while w.index_task is not None:
        app.processEvents()
        time.sleep(0.001)
    r = w.last_report
    result = {"done": done, "seconds": w.cancel_seconds or 0.0, "embedded": r.embedded if r else -1}
    w.close()
    lib.close()
    return result


def main() -> int:
    if not os.path.isdir(CALTECH):
        print(f"needs the shared photos at {CALTECH}")
        return 1
    app = QApplication.instance() or QApplication(sys.argv)
    started = conditions()
    tmp = tempfile.mkdtemp(prefix="photosim-gui-bench-")
    try:
        folder = thousand_photos(os.path.join(tmp, "photos"))
        lib = open_library(os.path.join(tmp, "library"))
        preload()  # as photosim.gui.app.main does before showing the window
        w = MainWindow(lib, QSettings(os.path.join(tmp, "s.ini"), QSettings.IniFormat),
                       ThumbnailLoader(os.path.join(tmp, "thumbs")))
        w.resize(1400, 900)
        if THUMB_SIDE and hasattr(w, "thumb_size"):
            w.thumb_size.setValue(THUMB_SIDE)
        w.show()
        meter = StallMeter()
        dog = Watchdog(meter)
        dog.start()
        start = time.monotonic()
        w.index([folder])
        run(app, meter, w, lambda: w.index_task is None and w.last_report is not None)
        seconds = time.monotonic() - start
        r = w.last_report
        index_worst, index_p99, ticks, worst_at = meter.worst(), meter.p99(), len(meter.gaps), meter.worst_at()

        # A 100,000-photo grid: the model is set, then scrolled page by page to the end.
        fake = [Photo(i, os.path.join(folder, f"{i % 1000:04d}.jpg"), 1, 1, None, 300, 200, PhotoState.OK)
                for i in range(100_000)]
        items = make_items(fake)  # what LibraryView.refresh builds on its worker
        while w.shared.runner.busy():  # the refresh after indexing must not replace the big list
            app.processEvents()
            time.sleep(0.005)
        meter.start()
        t0 = time.monotonic()
        w.library._show(items)
        set_ms = (time.monotonic() - t0) * 1000
        bar = w.library.grid.verticalScrollBar()
        while time.monotonic() - t0 < 1.5 or (bar.maximum() == 0 and time.monotonic() - t0 < 10):
            # the batched layout finishes between events
            app.processEvents()
            time.sleep(0.001)
        meter.stop()
        set_worst = meter.worst()
        bar = w.library.grid.verticalScrollBar()
        meter.start()
        steps = 0
        while bar.value() < bar.maximum() and steps < 400:
            bar.setValue(bar.value() + bar.maximum() // 300 + 1)
            app.processEvents()
            steps += 1
        meter.stop()
        big_worst, big_p99 = meter.worst(), meter.p99()
        ten = scroll_ten_thousand(app, meter, w, folder)
        dog.stop.set()
        w.close()
        lib.close()
        cancel = measure_cancel(app, tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        f"Measured by `benchmarks/gui_responsiveness.py` (offscreen Qt) on {started}; load average "
        f"{os.getloadavg()[0]:.1f} at the end of the run.",
        "",
        f"- Indexing {r.embedded} photos in the window while scrolling the grid every 0.2 s: "
        f"{seconds:.1f} s ({r.rate:.1f} photos/s by the service's own count); event-loop worst stall "
        f"**{index_worst:.0f} ms** (ending {worst_at:.1f} s after the start), 99th percentile "
        f"{index_p99:.0f} ms over {ticks} ticks of a 2 ms timer.",
        f"- A 100,000-photo grid: showing the list (rows built on a worker) took {set_ms:.0f} ms on the GUI "
        f"thread, worst stall {set_worst:.0f} ms while the batched layout finished; scrolling it end to end "
        f"in {steps} steps: worst stall **{big_worst:.0f} ms**, 99th percentile {big_p99:.0f} ms.",
        f"- A 10,000-photo grid of real photos at 1280x720 (thumbnails {ten['side']} px, made as they come into "
        f"sight), scrolled end to end, a quarter page every 16 ms ({ten['steps']} steps, "
        f"{ten['seconds']:.1f} s): worst stall **{ten['worst']:.0f} ms**, 99th percentile {ten['p99']:.0f} ms; "
        f"{ten['over']} ticks late by more than 50 ms.",
        f"- Cancel while indexing (fresh library, after {cancel['done']} photos were embedded): the indexer "
        f"stopped and the window showed \"Stopped\" **{cancel['seconds'] * 1000:.0f} ms** after the click; "
        f"{cancel['embedded']} photos were kept.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section("gui_responsiveness", text, Path(DOC))
    return 0


if __name__ == "__main__":
    sys.exit(main())
