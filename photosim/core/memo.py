"""A cache that threads share: each value is made once, even when several threads ask for it at
the same moment (the window's workers, a `similar` batch), and can be forgotten while others read.

Each `Library` owns one (``Library.memo``) for what it derives from its versions (query expansion,
the shown-similarity scale, the geometric check's verdicts), so two libraries in one process never
share an entry and a library closed is a cache gone. What depends on content alone (decoded
weights, an ONNX session per spec) is held in a process-wide one."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable


class Memo:
    def __init__(self, limit: int | None = None) -> None:
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()  # guards _values and _making
        self._making: dict[Hashable, threading.Lock] = {}  # one lock per key being made
        self.limit = limit  # least recently used entries beyond it are dropped

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value for ``key``, made by ``make()`` once; other threads asking meanwhile wait for it."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            making = self._making.setdefault(key, threading.Lock())
        with making:
            with self._lock:
                if key in self._values:
                    return self._values[key]
            value = make()  # outside the shared lock: making one value never blocks reading others
            with self._lock:
                self._values[key] = value
                self._making.pop(key, None)
                while self.limit is not None and len(self._values) > self.limit:
                    self._values.popitem(last=False)
            return value

    def forget(self, which: Callable[[Hashable], bool] | None = None) -> None:
        """Drop every entry whose key ``which`` accepts (all of them without ``which``)."""
        with self._lock:
            for key in [k for k in self._values if which is None or which(k)]:
                del self._values[key]

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._values
