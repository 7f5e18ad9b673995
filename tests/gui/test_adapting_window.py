"""The window adapts the library after indexing (in the indexing child), says which version
answers, and runs `photosim adapt` the same way with progress; browsing goes on meanwhile."""
from __future__ import annotations

import pytest

from support.window import make_window
from support.helpers import copy_photos

pytestmark = pytest.mark.slow  # each indexes real photos in a fresh library


def test_window_adapts_after_indexing_and_shows_the_version(qtbot, home, engine):
    tree = copy_photos(home / "Pictures", classes=("accordion", "camera", "chair", "cup"), per_class=10)
    w = make_window(qtbot, home)  # engine: the fixture exports the ONNX graph the child uses
    qtbot.waitUntil(lambda: "version 0" in w.model_label.text(), timeout=10000)  # read on a worker
    texts: list[str] = []
    shown: list[tuple[int, str]] = []  # the progress bar's maximum and the status text, as each report arrived
    w.index([str(tree)])
    w.index_task.progress.connect(lambda done, total, text: texts.append(text))
    w.index_task.progress.connect(lambda done, total, text: shown.append((w.progress.maximum(), w.rate.text())))
    qtbot.waitUntil(lambda: w.index_task is None and w.last_report is not None, timeout=180000)
    assert any(t.startswith("adapting") for t in texts), texts
    # Adapting counts photos, step by step, with a rate like indexing: "adapting 3/5: … 40/40 · … photos/s".
    counted = [(top, text) for top, text in shown if text.startswith("adapting") and "/40 · " in text]
    assert counted and all(top == 40 and "photos/s" in text for top, text in counted), shown
    assert {text.split(":")[0] for _, text in counted} >= {"adapting 2/5", "adapting 3/5", "adapting 4/5",
                                                          "adapting 5/5"}, counted
    active = w.shared.lib.active_model
    qtbot.waitUntil(lambda: f"version {active}" in w.model_label.text(), timeout=10000)
    assert active != 0
    assert "adapted to this library" in w.model_label.text()

    # Similar answers with the adapted version: a photo's first results are its own class.
    query = sorted((tree / "chair").iterdir())[0]
    w.similar.set_query(str(query))
    qtbot.waitUntil(lambda: w.similar.query == str(query) and w.similar.model.rowCount() > 0, timeout=60000)
    top = [w.similar.model.photo(r).path for r in range(min(5, w.similar.model.rowCount()))]
    assert sum("/chair/" in p for p in top) >= 4, top

    # "Adapt" runs `photosim adapt` in a child: a fresh version replaces the one in use. It indexes
    # nothing, so it ends with its own event (services/index_events.py), not an indexing report.
    w.last_report = None
    w.adapt_now()
    assert w.index_task is not None and w.cancel.isVisible()
    w.library.grid.setFocus()  # the window still takes input while the child works
    qtbot.waitUntil(lambda: w.index_task is None, timeout=180000)
    assert w.last_report is None
    assert w.shared.lib.active_model not in (0, active)
    qtbot.waitUntil(lambda: f"version {w.shared.lib.active_model}" in w.model_label.text(), timeout=10000)
