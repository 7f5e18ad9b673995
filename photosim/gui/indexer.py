"""Indexing in a child process: `photosim index --progress-json -`, read line by line.

Why a process and not a thread: decoding, inference and SQLite writes are
Python-heavy; on a 2-core machine a worker thread competes with the GUI
thread for the GIL and the window stalls (175 ms measured). A child has its
own interpreter, so the window only reads a JSON line now and then. It also
contains a decoder that crashes natively: the child dies, the window stays.
The CLI runs the same indexing service, so there is still one source of logic.
Cancel sends SIGINT, which the CLI treats as "stop after this batch, keep
everything finished".
"""
from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from ..services.index_events import AdaptEnded, Adapted, Progress, parse_line
from ..services.indexing import IndexReport


def cli_command() -> list[str]:
    """How to run the CLI: the bundled executable is the CLI itself; otherwise `python -m photosim.cli`."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "photosim.cli"]


class IndexProcess(QObject):
    """One indexing run in a child. Emits ``progress`` per update and ``finished`` exactly once;
    deletes itself once the child has exited."""

    progress = Signal(int, int, str)
    finished = Signal(object, str)  # (IndexReport, AdaptEnded for `adapt`, or None; error message or "")

    def __init__(self, library: str, paths: list[str], parent: QObject | None = None,
                 command: list[str] | None = None) -> None:
        super().__init__(parent)
        self._report: IndexReport | AdaptEnded | None = None
        self.adapted: Adapted | None = None  # when the library adapted itself
        self._stderr: list[str] = []
        self._ended = False
        self.proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.proc.setProcessEnvironment(env)
        self.proc.readyReadStandardOutput.connect(self._read_stdout)
        self.proc.readyReadStandardError.connect(self._read_stderr)
        self.proc.finished.connect(self._exited)
        self.proc.errorOccurred.connect(self._error)
        self.proc.started.connect(self._lower_priority)
        cmd = cli_command()
        # `photosim adapt` runs the same way (command=["adapt"]): its progress and Cancel are indexing's.
        args = ["index", "--progress-json", "-", "--", *paths] if command is None else [*command, "--progress-json", "-"]
        self.proc.start(cmd[0], cmd[1:] + ["--library", library, *args])

    def _lower_priority(self) -> None:
        """Run the indexer at a lower CPU priority than the window: on a 2-core machine its decode
        and inference threads otherwise take the cores the GUI thread needs to paint. Done at once,
        before its interpreter starts any thread, so every thread it makes inherits it (Linux)."""
        if hasattr(os, "setpriority"):
            try:
                os.setpriority(os.PRIO_PROCESS, self.proc.processId(), 10)
            except OSError:
                pass

    def cancel(self) -> None:
        """Ask the child to stop after its current batch (SIGINT = the CLI's first Ctrl-C)."""
        pid = self.proc.processId()
        if pid and self.proc.state() != QProcess.NotRunning:
            if hasattr(signal, "SIGINT") and os.name == "posix":
                os.kill(pid, signal.SIGINT)
            else:
                self.proc.terminate()

    def running(self) -> bool:
        return self.proc.state() != QProcess.NotRunning

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """On window close: stop gracefully, and kill only if it does not stop in time."""
        if self.running():
            self.cancel()
            if not self.proc.waitForFinished(timeout_ms):
                self.proc.kill()
                self.proc.waitForFinished(5000)
        self._ended = True  # nothing more reaches widgets being torn down

    # --- child output ---------------------------------------------------------------------
    def _read_stdout(self) -> None:
        while self.proc.canReadLine():
            event = parse_line(bytes(self.proc.readLine().data()).decode("utf-8", "replace").strip())
            if isinstance(event, Adapted):
                self.adapted = event
            elif isinstance(event, Progress):
                self.progress.emit(event.done, event.total, event.text)
            elif isinstance(event, AdaptEnded):
                self._report = event
                self._finish(event, "")
            elif isinstance(event, IndexReport):
                # Everything is committed and the index saved: the run is over for the window even
                # though the child still needs a second or two to exit (its interpreter teardown).
                self._report = event
                self._finish(self._report, "")

    def _read_stderr(self) -> None:
        text = bytes(self.proc.readAllStandardError().data()).decode("utf-8", "replace")
        self._stderr.extend(line for line in text.splitlines() if line.strip())
        del self._stderr[:-20]

    def _exited(self, code: int, status) -> None:
        self._read_stdout()
        self._read_stderr()
        QTimer.singleShot(0, self, self.deleteLater)  # the window let go of it when it finished
        if self._report is not None:
            self._finish(self._report, "")
            return
        last = next((line for line in reversed(self._stderr) if line.startswith("photosim:")), None)
        if status == QProcess.CrashExit:
            msg = f"indexing stopped: the indexer crashed (signal/exit {code}); everything finished before is kept"
        else:
            msg = last[len("photosim:"):].strip() if last else f"indexing failed (exit code {code})"
        self._finish(None, msg)

    def _error(self, error) -> None:
        if error == QProcess.FailedToStart:
            self._finish(None, f"could not start the indexer: {self.proc.errorString()}")
            QTimer.singleShot(0, self, self.deleteLater)

    def _finish(self, report: IndexReport | AdaptEnded | None, message: str) -> None:
        if self._ended:
            return
        self._ended = True
        # Deliver after the current slot returns: a receiver may delete this object.
        QTimer.singleShot(0, self, lambda: self.finished.emit(report, message))


def duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def tuned_line(adapted, asked: bool) -> str:
    """What the status bar says when similarity was tuned to the library: by itself after indexing (the
    first time, the person did not ask for it), or from Library > Tune to this library."""
    how = "Similarity is now tuned" if asked else "Indexing tuned similarity by itself"
    return (f"{how} to this library's {adapted.photos:,} photos (version {adapted.model}): similar photos follow "
            "what it holds. The Train tab lists the versions to go back to.")
