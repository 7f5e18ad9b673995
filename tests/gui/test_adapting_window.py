"""The window adapts the library after indexing (in the indexing child), says which version
answers, and runs `photosim adapt` the same way with progress; browsing goes on meanwhile."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from photosim.services.models import list_models
from support.window import make_window
from support.helpers import caltech_or_skip, copy_photos

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


def test_window_learns_further_with_progress_and_a_cancel_keeps_the_adaptation(qtbot, home, engine):
    """200 photos: after adapting, the indexing child learns further from the views, with its own
    steps, rate and Cancel; the version answering is named; a Cancel while it trains keeps the adaptation."""
    kinds = tuple(sorted(p.name for p in caltech_or_skip().iterdir() if p.is_dir()))
    tree = copy_photos(home / "Pictures", classes=kinds, per_class=10)
    w = make_window(qtbot, home)
    qtbot.waitUntil(lambda: "version 0" in w.model_label.text(), timeout=10000)
    shown: list[str] = []
    w.index([str(tree)])
    w.index_task.progress.connect(lambda done, total, text: shown.append(w.rate.text()))
    qtbot.waitUntil(lambda: w.index_task is None and w.last_report is not None, timeout=240000)
    further = [t for t in shown if t.startswith("adapting further")]
    assert any(t.startswith("adapting further 2/6: training ") and "steps/s" in t for t in further), shown[-20:]
    assert any(t.startswith("adapting further 4/6") and "/200 · " in t and "photos/s" in t for t in further), further
    qtbot.waitUntil(lambda: "learned further" in w.model_label.text(), timeout=10000)

    # "Adapt" again, and Cancel while it learns further: the fresh adaptation stays, nothing half-made.
    w.adapt_now()
    qtbot.waitUntil(lambda: w.index_task is None or w.rate.text().startswith("adapting further 2/"), timeout=120000)
    assert w.index_task is not None
    qtbot.mouseClick(w.cancel, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.index_task is None, timeout=60000)
    versions = list_models(w.shared.lib)  # what the child left
    active = next(m for m in versions if m.active)
    assert active.adapted and not any("refines" in m.spec for m in versions), [(m.id, m.name) for m in versions]
    assert "cancel" in w.notice.text().lower() or "stopped" in w.notice.text().lower(), w.notice.text()
    qtbot.waitUntil(lambda: f"version {active.id}" in w.model_label.text(), timeout=10000)
