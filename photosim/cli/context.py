"""The TaskContext of a command: a tqdm bar on stderr, Ctrl-C as cancel; or JSON lines for the window."""
from __future__ import annotations

import signal
import sys
import threading
import time


class CliContext:
    """TaskContext over a tqdm bar; the first Ctrl-C asks the work to stop, a second one aborts."""

    def __init__(self, unit: str = "photo", quiet: bool = False) -> None:
        self._stop = threading.Event()
        self._bar = None
        self._unit = unit
        self._quiet = quiet
        self._previous = None
        self.stop_requested_at: float | None = None

    def __enter__(self) -> "CliContext":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum, frame) -> None:
        if self._stop.is_set():
            raise KeyboardInterrupt
        self._stop.set()
        self.stop_requested_at = time.monotonic()
        print("\nstopping… (keeping everything finished so far; Ctrl-C again to abort)", file=sys.stderr)

    def cancelled(self) -> bool:
        return self._stop.is_set()

    def say(self, text: str) -> None:
        """A line for the person (e.g. that this run waits for another photosim)."""
        print(f"photosim: {text} (Ctrl-C stops waiting)", file=sys.stderr)

    def progress(self, done: int, total: int, text: str = "") -> None:
        if self._quiet or total <= 0:
            return
        if self._bar is None or self._bar.total != total or done < self._bar.n:  # a new count (a new step)
            from tqdm import tqdm

            if self._bar is not None:
                self._bar.close()
            self._bar = tqdm(total=total, unit=self._unit, desc=text, dynamic_ncols=True, file=sys.stderr)
        self._bar.set_description(text)
        self._bar.update(done - self._bar.n)


class JsonProgressContext(CliContext):
    """CliContext that writes one JSON line per update instead of a bar, for a parent process
    (the desktop app indexes and adapts in a child so its window never waits for this work;
    the lines are services/index_events.py's)."""

    def __init__(self, path: str) -> None:
        super().__init__(quiet=True)
        # "x": a progress file never replaces anything that is there
        self._out = sys.stdout if path == "-" else open(path, "x", encoding="utf-8")

    def emit(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()

    def progress(self, done: int, total: int, text: str = "") -> None:
        from ..services.index_events import progress_line

        self.emit(progress_line(done, total, text))

    def say(self, text: str) -> None:
        self.progress(0, 0, text)

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        if self._out is not sys.stdout:
            self._out.close()
