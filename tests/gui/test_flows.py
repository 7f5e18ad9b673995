"""Every flow of the desktop app, through the real widgets, on real photos and a real library."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.window import answer_next_box, drop, index_and_wait, make_window, wait_idle
from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QMessageBox

from photosim.services import labels
from photosim.services.trash import QUARANTINE


def test_first_start_shows_welcome_and_settings_persist(qtbot, home, engine):
    w = make_window(qtbot, home)
    qtbot.waitUntil(lambda: not w.shared.runner.busy())
    assert w.stack.currentWidget() is w.welcome
    assert w.welcome.add.text() == "Add a folder…" and w.welcome.demo.isEnabled()
    w.similar.how_many.setValue(7)
    w.tabs.setCurrentIndex(2)
    w.close()
    w2 = make_window(qtbot, home)
    assert w2.similar.how_many.value() == 7 and w2.tabs.currentIndex() == 2
    w2.close()


def test_index_select_similar_and_mark(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    assert window.last_report.embedded == 20 and not window.last_report.cancelled
    assert window.stack.currentWidget() is window.tabs
    qtbot.waitUntil(lambda: window.library.model.rowCount() == 20)
    assert str(photos) in window.folders.folders()

    grid = window.library.grid
    grid.setFocus()
    grid.setCurrentIndex(window.library.proxy.index(0, 0))
    qtbot.keyClick(grid, Qt.Key_Right)  # arrows move the selection, and the similar view follows
    query = window.library.current_photo()
    assert query.path == window.library.model.photo(1).path
    qtbot.waitUntil(lambda: window.similar.model.rowCount() > 0 and window.similar.query == query.path)
    scores = [window.similar.model.item(r).score for r in range(window.similar.model.rowCount())]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)
    assert query.path not in [p.path for p in window.similar.model.photos()]

    # ✓ on the first result and ✗ on the second, clicked where the buttons are painted.
    sgrid = window.similar.grid
    sgrid.scrollToTop()
    for row, same in ((0, True), (1, False)):
        qtbot.mouseClick(sgrid.viewport(), Qt.LeftButton, pos=sgrid.button_center(row, same))
    qtbot.waitUntil(lambda: len(labels.list_labels(window.shared.lib).pairs) == 2)
    pairs = labels.list_labels(window.shared.lib).pairs
    got = {(p.b if p.a == query.path else p.a, p.label) for p in pairs}
    assert got == {(window.similar.model.photo(0).path, "same"), (window.similar.model.photo(1).path, "different")}
    qtbot.waitUntil(lambda: window.similar.model.item(0).mark is True and window.similar.model.item(1).mark is False)

    # The slider for "how many" re-runs the query.
    window.similar.how_many.setValue(3)
    qtbot.waitUntil(lambda: window.similar.model.rowCount() == 3)
    # Ctrl+F focuses the filter box, which narrows the grid.
    qtbot.keyClick(window, Qt.Key_F, Qt.ControlModifier)
    assert window.library.filter.hasFocus()
    qtbot.keyClicks(window.library.filter, "pizza")
    qtbot.waitUntil(lambda: window.library.proxy.rowCount() == 6)


def test_space_opens_viewer_and_compare_syncs_zoom(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    grid = window.library.grid
    grid.setFocus()
    grid.setCurrentIndex(window.library.proxy.index(2, 0))
    qtbot.keyClick(grid, Qt.Key_Space)
    viewer = window.viewer
    assert viewer.isVisible() and viewer.photo.path == window.library.current_photo().path
    qtbot.waitUntil(viewer.view.has_image)
    viewer.close()

    a, b = window.library.model.photo(0), window.library.model.photo(1)
    window.open_compare(a, b)
    cmp = window.compare_dialog.compare
    qtbot.waitUntil(lambda: cmp.left.view.has_image() and cmp.right.view.has_image())
    cmp.left.view.set_scale(2.0)
    ratio = cmp.left.view.sceneRect().width() / cmp.right.view.sceneRect().width()
    assert abs(cmp.right.view.scale_factor() - 2.0 * ratio) < 1e-6
    cmp.right.view.horizontalScrollBar().setValue(cmp.right.view.horizontalScrollBar().maximum())
    assert cmp.left.view.horizontalScrollBar().value() == cmp.left.view.horizontalScrollBar().maximum()
    assert "File size" in cmp.differences or a.size == b.size
    window.compare_dialog.close()


def test_drop_file_from_file_manager_shows_similar(qtbot, window, photos, home):
    index_and_wait(qtbot, window, photos)
    outside = home / "elsewhere.jpg"  # not in the library: embedded on the fly
    from PIL import Image

    with Image.open(sorted((photos / "pizza").iterdir())[0]) as im:
        im.rotate(5).save(outside)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(outside))])
    assert drop(qtbot, window, mime)
    qtbot.waitUntil(lambda: window.similar.query == str(outside) and window.similar.model.rowCount() > 0,
                    timeout=30000)
    top = window.similar.model.photo(0).path
    assert os.sep + "pizza" + os.sep in top  # a rotated pizza photo finds the pizza it came from

    # "Compare side by side" with the dropped query: its facts are read from the file itself.
    window.similar.grid.setCurrentIndex(window.similar.model.index(0, 0))
    window.similar.compare.click()
    qtbot.waitUntil(lambda: getattr(window, "compare_dialog", None) is not None, timeout=30000)
    cmp = window.compare_dialog.compare
    assert cmp.left.photo.path == str(outside) and cmp.left.photo.id == 0
    assert cmp.right.photo.path == top
    with Image.open(outside) as im:
        assert (cmp.left.photo.width, cmp.left.photo.height) == im.size
    assert cmp.left.photo.size == outside.stat().st_size
    qtbot.waitUntil(lambda: cmp.left.view.has_image() and cmp.right.view.has_image())
    window.compare_dialog.close()


def test_marks_come_back_when_results_refresh(qtbot, window, photos):
    """✓/✗ are read from the store with the results: a new search, another query and back, or a
    label removed in the Labels tab all show what is recorded."""
    index_and_wait(qtbot, window, photos)
    query = sorted((photos / "camera").iterdir())[1]
    window.similar.set_query(str(query))
    qtbot.waitUntil(lambda: window.similar.model.rowCount() >= 3)
    sgrid = window.similar.grid
    for row, same in ((0, True), (2, False)):
        qtbot.mouseClick(sgrid.viewport(), Qt.LeftButton, pos=sgrid.button_center(row, same))
    qtbot.waitUntil(lambda: len(labels.list_labels(window.shared.lib).pairs) == 2)
    marked = {window.similar.model.photo(0).path: True, window.similar.model.photo(2).path: False}

    def shown() -> dict:
        m = window.similar.model
        return {m.photo(r).path: m.item(r).mark for r in range(m.rowCount()) if m.item(r).mark is not None}

    window.similar.set_query(str(sorted((photos / "pizza").iterdir())[0]))  # another query...
    qtbot.waitUntil(lambda: window.similar.query.endswith(".jpg") and "pizza" in window.similar.query
                    and window.similar.model.rowCount() > 0 and not window.shared.runner.busy())
    assert not any(p in marked for p in shown())  # ...whose results carry no marks of the first
    window.similar.set_query(str(query))  # ...and back: the results are rebuilt from the search
    qtbot.waitUntil(lambda: window.similar.query == str(query) and shown() == marked)
    window.similar.how_many.setValue(window.similar.how_many.value() - 1)  # a slider re-runs it too
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: shown() == marked)

    pair = next(p for p in labels.list_labels(window.shared.lib).pairs if not p.same)
    labels.remove_label(window.shared.lib, pair.id, "pair")
    window.shared.labels_changed.emit()  # what the Labels tab emits after a removal
    qtbot.waitUntil(lambda: shown() == {k: v for k, v in marked.items() if v})


def test_triplet_drag_and_drop_save_and_delete(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    model = window.library.model
    chosen = [model.photo(r).path for r in (0, 1, 12)]
    for role, row in zip(("anchor", "positive", "negative"), (0, 1, 12)):
        assert not window.triplets.save.isEnabled()
        mime = model.mimeData([model.index(row)])  # exactly what the grid hands to a drag
        assert drop(qtbot, window.triplets.slots[role], mime)
    assert [window.triplets.slots[r].path for r in ("anchor", "positive", "negative")] == chosen
    qtbot.mouseClick(window.triplets.save, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(labels.list_labels(window.shared.lib).triplets) == 1)
    t = labels.list_labels(window.shared.lib).triplets[0]
    assert [t.anchor, t.positive, t.negative] == chosen
    qtbot.waitUntil(lambda: window.triplets.slots["anchor"].path is None)  # cleared for the next one

    view = window.labels
    qtbot.waitUntil(lambda: view.table.rowCount() == 1)
    assert "1</b> triplets" in view.counts.text()
    view.table.selectRow(0)
    qtbot.mouseClick(view.delete, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.table.rowCount() == 0)
    assert labels.list_labels(window.shared.lib).triplets == []


def test_duplicates_trash_undo_refuse_and_not_duplicates(qtbot, window, photos, home):
    index_and_wait(qtbot, window, photos)
    window.tabs.setCurrentIndex(1)
    dv = window.duplicates
    qtbot.waitUntil(lambda: dv.list.count() >= 2)
    assert dv.groups[0].kind == "exact"
    assert all(g.kind == "near" for g in dv.groups[1:])
    dv.list.setCurrentRow(0)
    group = dv.groups[0]
    assert dv.model.item(0).note == "★ keep" and group.reason in dv.reason.text()
    copy = [p for p in dv.selected_photos()]
    assert len(copy) == 1 and copy[0].id != group.keep.id  # the suggestion: every copy but the keeper
    assert dv.compare is not None and dv.compare.left.photo.id == group.keep.id

    # Move to trash: confirmed once, the file leaves, Ctrl+Z brings it back.
    answer_next_box(QMessageBox.Yes)
    qtbot.mouseClick(dv.trash, Qt.LeftButton)
    qtbot.waitUntil(lambda: not os.path.exists(copy[0].path))
    quarantined = [os.path.join(d, f) for d, _, fs in os.walk(window.shared.lib.directory) for f in fs
                   if QUARANTINE in d]
    assert len(quarantined) == 1
    wait_idle(qtbot, window)
    window.activateWindow()  # the confirmation box had the focus; shortcuts go to the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    dv.grid.setFocus()  # (a text box with focus would take Ctrl+Z for its own text, as everywhere)
    qtbot.keyClick(dv.grid, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: os.path.exists(copy[0].path))
    qtbot.waitUntil(lambda: "restored 1" in window.notice.text())

    # Removing every copy of a group is refused before any question: the button says why, and Delete says it.
    qtbot.waitUntil(lambda: dv.list.count() >= 2)
    dv.list.setCurrentRow(0)
    dv.grid.selectAll()
    qtbot.waitUntil(lambda: not dv.trash.isEnabled() and "keep at least one" in dv.trash.toolTip(), timeout=30000)
    qtbot.keyClick(dv.grid, Qt.Key_Delete)
    qtbot.waitUntil(lambda: "keep at least one" in window.notice.text(), timeout=30000)
    assert QApplication.activeModalWidget() is None
    assert all(os.path.exists(p.path) for p in dv.groups[0].photos)

    # Delete, then Cancel in the confirmation: nothing moves.
    dv.list.setCurrentRow(0)
    answer_next_box(QMessageBox.Cancel)
    qtbot.keyClick(dv.grid, Qt.Key_Delete)
    wait_idle(qtbot, window)
    assert all(os.path.exists(p.path) for p in dv.groups[0].photos)

    # "Not duplicates" on the near group: gone now, and still gone after a rescan.
    near = dv.groups[1]
    ids = frozenset(p.id for p in near.photos)
    dv.list.setCurrentRow(1)
    qtbot.mouseClick(dv.not_dupes, Qt.LeftButton)
    qtbot.waitUntil(lambda: ids not in [frozenset(p.id for p in g.photos) for g in dv.groups]
                    and not window.shared.runner.busy())
    index_and_wait(qtbot, window, photos)
    qtbot.waitUntil(lambda: not window.shared.runner.busy())
    assert ids not in [frozenset(p.id for p in g.photos) for g in dv.groups]
    assert dv.groups and dv.groups[0].kind == "exact"


@pytest.mark.slow
def test_cancel_stops_indexing(qtbot, window, home, caltech):
    window.index([str(caltech)])
    qtbot.waitUntil(lambda: window.progress.maximum() > 0 and window.progress.value() > 0, timeout=60000)
    assert "photos/s" in window.rate.text()
    qtbot.mouseClick(window.cancel, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.index_task is None, timeout=10000)
    r = window.last_report
    assert r.cancelled and r.embedded < r.scanned
    assert "Stopped" in window.notice.text()


def test_main_starts_and_quits(qtbot, home, monkeypatch):
    """`photosim gui` end to end: main() opens the window on the given library and returns on quit."""
    from photosim.gui import app as gui_app

    QTimer.singleShot(1500, QApplication.closeAllWindows)
    assert gui_app.main(str(home / "lib")) == 0
    assert (home / "lib" / "library.db").exists()
    assert Path(os.environ["PHOTOSIM_SETTINGS"]).read_text().count(str(home / "lib")) == 1


def test_duplicates_lists_a_burst_with_its_best_shot(qtbot, window, home, caltech):
    """Frames of a burst are a group of their own, best shot first, with the measures in the compare table."""
    import numpy as np
    from PIL import Image

    from support.burst_set import save_frame, defocus

    with Image.open(caltech / "pizza" / "image_0001.jpg") as im:
        arr = np.asarray(im.convert("RGB"))
    folder = home / "Pictures" / "burst"
    folder.mkdir(parents=True)
    w = arr.shape[1]
    save_frame(arr[:, : w * 9 // 10], folder / "frame-sharp.jpg")
    save_frame(defocus(arr[:, w // 10:], 2.5), folder / "frame-blurred.jpg")
    index_and_wait(qtbot, window, folder)
    window.tabs.setCurrentIndex(1)
    dv = window.duplicates
    qtbot.waitUntil(lambda: dv.list.count() >= 1)
    assert [g.kind for g in dv.groups] == ["burst"]
    assert dv.list.item(0).text().startswith("1. Burst")
    dv.list.setCurrentRow(0)
    assert os.path.basename(dv.groups[0].keep.path) == "frame-sharp.jpg"
    assert "best shot frame-sharp.jpg" in dv.reason.text() and dv.model.item(0).note == "★ best shot"
    assert dv.compare is not None and "Sharpness" in dv.compare.differences
    # What the best shot was chosen by leads the table, in sight without scrolling.
    assert [dv.compare.table.item(r, 0).text() for r in range(3)] == ["Sharpness", "Exposure", "Taken"]
