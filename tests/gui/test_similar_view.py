"""The Similar view with copies in the library: one cell per photo with a "3 copies" badge that
shows them, the query's own copies named in the title, and ✓/✗, drag and compare on a copy's cell."""
from __future__ import annotations

import os

from support.window import index_and_wait, wait_idle
from PIL import Image
from PySide6.QtCore import Qt
from support.window import drop

from photosim.gui.models.photo_list import NoteRole, paths_from_mime
from photosim.services import labels


def _group(photos) -> set[str]:
    """Accordion #1 and its copies: the byte copy of the shared fixture and a re-encode made here."""
    first = sorted((photos / "accordion").iterdir())[0]
    return {str(first), str(photos / "copies" / "exact copy.jpg"), str(photos / "copies" / "accordion re-encoded.jpg")}


def _add_reencode(photos) -> None:
    first = sorted((photos / "accordion").iterdir())[0]
    with Image.open(first) as im:
        im.save(photos / "copies" / "accordion re-encoded.jpg", quality=60)


def _shown(model) -> list[str]:
    return [model.photo(r).path for r in range(model.rowCount())]


def test_copies_are_one_cell_that_opens_and_each_copy_can_be_marked_dragged_compared(qtbot, window, photos):
    _add_reencode(photos)
    index_and_wait(qtbot, window, photos)
    view, model, grid = window.similar, window.similar.model, window.similar.grid
    group = _group(photos)
    query = str(sorted((photos / "accordion").iterdir())[1])
    view.how_many.setValue(6)
    view.set_query(query)
    qtbot.waitUntil(lambda: view.query == query and view.answer is not None and model.rowCount() == 6)
    wait_idle(qtbot, window)
    rows = [r for r in range(model.rowCount()) if model.photo(r).path in group]
    assert len(rows) == 1  # the three copies take one place of the six
    row = rows[0]
    assert model.data(model.index(row), NoteRole) == "3 copies ▸"
    assert "3 copies of this photo" in model.data(model.index(row), Qt.ToolTipRole)

    grid.scrollTo(model.index(row))
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=grid.badge_center(row))
    qtbot.waitUntil(lambda: model.rowCount() == 8)
    assert set(_shown(model)[row:row + 3]) == group
    assert model.data(model.index(row), NoteRole) == "3 copies ▾"
    assert [model.data(model.index(r), NoteRole) for r in (row + 1, row + 2)] == ["copy", "copy"]
    copy_row = row + 2
    copy_path = model.photo(copy_row).path

    # ✓ on a copy's own cell records a pair between the query and that copy
    grid.scrollTo(model.index(copy_row))
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=grid.button_center(copy_row, True))
    qtbot.waitUntil(lambda: len(labels.list_labels(window.shared.lib).pairs) == 1)
    pair = labels.list_labels(window.shared.lib).pairs[0]
    assert {pair.a, pair.b} == {query, copy_path} and pair.same
    qtbot.waitUntil(lambda: model.item(copy_row).mark is True)

    # a copy's cell drags to the triplet panel like any other
    mime = model.mimeData([model.index(copy_row)])
    assert paths_from_mime(mime) == [copy_path]
    assert drop(qtbot, window.triplets.slots["positive"], mime)
    assert window.triplets.slots["positive"].path == copy_path

    # compare the query with the selected copy
    grid.setCurrentIndex(model.index(copy_row))
    view.compare.click()
    qtbot.waitUntil(lambda: getattr(window, "compare_dialog", None) is not None, timeout=30000)
    cmp = window.compare_dialog.compare
    assert (cmp.left.photo.path, cmp.right.photo.path) == (query, copy_path)
    window.compare_dialog.close()

    # the badge again hides the copies; the ✓ stays recorded on the copy, and comes back with it
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=grid.badge_center(row))
    qtbot.waitUntil(lambda: model.rowCount() == 6)
    assert model.data(model.index(row), NoteRole) == "3 copies ▸"
    window.shared.labels_changed.emit()
    wait_idle(qtbot, window)
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=grid.badge_center(row))
    qtbot.waitUntil(lambda: model.rowCount() == 8)
    assert {model.photo(r).path: model.item(r).mark for r in (row + 1, row + 2)}[copy_path] is True


def test_the_query_copies_are_left_out_and_shown_on_request(qtbot, window, photos):
    _add_reencode(photos)
    index_and_wait(qtbot, window, photos)
    view, model = window.similar, window.similar.model
    group = _group(photos)
    query = str(sorted((photos / "accordion").iterdir())[0])
    view.how_many.setValue(5)
    view.set_query(query)
    qtbot.waitUntil(lambda: view.query == query and view.answer is not None and model.rowCount() == 5)
    assert not set(_shown(model)) & group
    assert "2 other copies in the library" in view.title.text()
    view.title.linkActivated.emit("copies")  # what a click on the title's link sends
    assert model.rowCount() == 7 and set(_shown(model)[:2]) == group - {query}
    assert all(model.data(model.index(r), NoteRole) == "copy of the query" for r in (0, 1))
    assert "hide them" in view.title.text()
    view.title.linkActivated.emit("copies")
    assert model.rowCount() == 5 and not set(_shown(model)) & group
    assert os.path.basename(query) in view.title.text()
