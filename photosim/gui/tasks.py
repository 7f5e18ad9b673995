"""Run service calls off the GUI thread and deliver their results on it.

A small version of Anki's task manager: a QThreadPool plus a signal object per
task whose ``done``/``failed``/``progress`` signals are connected to callbacks
living on the main thread (queued connections, so callbacks always run there).
Cancellation is a flag the service polls through the TaskContext protocol;
``shutdown`` sets every flag and joins the pool, so no thread outlives the window.
"""
from __future__ import annotations

import os
import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from ..services.errors import understand


_niced = threading.local()


def lower_thread_priority(nice: int = 5) -> None:
    """Make the calling worker thread yield the CPU to the GUI thread (Linux: niceness is per thread).

    On a 2-core machine a worker at the GUI thread's priority takes the core it needs to paint;
    measured stalls during indexing coincided with two thumbnail workers running. Once per thread.
    """
    if getattr(_niced, "done", False) or not hasattr(os, "setpriority"):
        return
    _niced.done = True
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        pass


class TaskSignals(QObject):
    """Emitted from the pool thread; each carries the task so the runner knows whose it is."""

    progress = Signal(object, int, int, str)
    done = Signal(object, object)
    failed = Signal(object, str)


class QtContext:
    """The TaskContext a service sees: progress goes out as a signal, cancel is an Event."""

    def __init__(self, task: "Task") -> None:
        self._task = task
        self._stop = threading.Event()
        self._last = 0.0

    def progress(self, done: int, total: int, text: str = "") -> None:
        now = time.monotonic()
        # Rate-limit to ~20 updates/s: a flood of queued signals would itself stall the GUI.
        if now - self._last >= 0.05 or done >= total:
            self._last = now
            self._task.signals.progress.emit(self._task, done, total, text)

    def cancelled(self) -> bool:
        return self._stop.is_set()

    def cancel(self) -> None:
        self._stop.set()


class Task(QRunnable):
    """One call of ``fn(ctx)`` on a pool thread."""

    def __init__(self, fn: Callable[[QtContext], Any], name: str) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps it until its signals have been delivered
        self.name = name
        self.signals = TaskSignals()
        self.ctx = QtContext(self)
        self._fn = fn
        self.on_done: Callable[[Any], None] | None = None
        self.on_error: Callable[[str], None] | None = None
        self.on_progress: Callable[[int, int, str], None] | None = None

    def run(self) -> None:
        lower_thread_priority()
        try:
            result = self._fn(self.ctx)
        except Exception as exc:  # noqa: BLE001 - one line, as the command line says it (services/errors.py)
            failure = understand(exc)
            if failure.bug:
                traceback.print_exc()  # also on stderr: the window's own log, beside the error log
            # a refusal the window words about the photo (services/trash.Refusal), not as a command line
            self.signals.failed.emit(self, getattr(exc, "sentence", failure.message))
        else:
            self.signals.done.emit(self, result)

    def cancel(self) -> None:
        self.ctx.cancel()


class TaskRunner(QObject):
    """Starts tasks, keeps them alive until they finish, and joins them all on shutdown."""

    def __init__(self, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._live: set[Task] = set()

    def start(self, name: str, fn: Callable[[QtContext], Any], on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[str], None] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None) -> Task:
        task = Task(fn, name)
        task.on_done, task.on_error, task.on_progress = on_done, on_error, on_progress
        # Bound slots of this QObject (which lives on the GUI thread) with queued connections:
        # the callbacks therefore always run on the GUI thread, never on the pool thread.
        task.signals.done.connect(self._done, Qt.QueuedConnection)
        task.signals.failed.connect(self._failed, Qt.QueuedConnection)
        task.signals.progress.connect(self._progress, Qt.QueuedConnection)
        self._live.add(task)
        self.pool.start(task)
        return task

    @Slot(object, object)
    def _done(self, task: Task, result: Any) -> None:
        self._live.discard(task)
        if task.on_done:
            task.on_done(result)

    @Slot(object, str)
    def _failed(self, task: Task, message: str) -> None:
        self._live.discard(task)
        if task.on_error:
            task.on_error(message)

    @Slot(object, int, int, str)
    def _progress(self, task: Task, done: int, total: int, text: str) -> None:
        if task.on_progress and task in self._live:
            task.on_progress(done, total, text)

    def busy(self, name: str | None = None) -> bool:
        return any(name is None or t.name == name for t in self._live)

    def cancel_all(self) -> None:
        for t in list(self._live):
            t.cancel()

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Ask every task to stop and wait for the pool; True when every thread has ended."""
        self.cancel_all()
        ok = self.pool.waitForDone(timeout_ms)
        for t in list(self._live):  # results still queued must not reach widgets being torn down
            t.on_done = t.on_error = t.on_progress = None
        self._live.clear()
        return ok
