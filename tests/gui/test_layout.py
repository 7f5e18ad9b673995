"""The window's layout as a person uses it: thumbnail size (slider, Ctrl+plus/minus, remembered), grids that
fill their width, panes hidden and brought back from View, the triplet slots opening when a drag starts
and taking only library photos, the filter's count, the viewer's keys, the training chart's words, and a
burst's reason and table giving one exposure figure."""
from __future__ import annotations

import shutil

from support.window import drop, index_and_wait, make_window, wait_idle
from PySide6.QtCore import QMimeData, Qt, QUrl

from photosim.gui.models.photo_list import paths_mime
from photosim.gui.widgets.grid import SIDE_STEP, cell_size
from photosim.gui.widgets.loss_chart import describe


def test_thumbnail_size_is_set_remembered_and_grids_fill_their_width(qtbot, window, photos, home):
    index_and_wait(qtbot, window, photos)
    grid = window.library.grid
    side = window.thumb_size.value()
    window.bigger.trigger()  # Ctrl+plus
    assert window.thumb_size.value() == side + SIDE_STEP and grid.delegate.side == side + SIDE_STEP
    window.thumb_size.setValue(96)  # the status bar's slider
    wait_idle(qtbot, window)
    assert grid.delegate.side == 96 and window.similar.grid.delegate.side == 96
    # The columns share the spare width: no empty band beside them.
    width = grid.viewport().width()
    columns = width // cell_size(96).width()
    assert grid.gridSize().width() * columns > width - columns and grid.gridSize().width() >= cell_size(96).width()
    window.close()
    again = make_window(qtbot, home)
    try:
        assert again.thumb_size.value() == 96 and again.library.grid.delegate.side == 96
    finally:
        again.close()
        again.shared.lib.close()


def test_panes_hide_and_come_back_and_the_slots_open_on_a_drag(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    assert not window.triplet_dock.isVisible()  # out of the way until a drag starts
    window.pane_actions["folders"].setChecked(False)
    assert not window.folders.isVisible()
    window.pane_actions["folders"].setChecked(True)
    assert window.folders.isVisible()
    window.library.grid.drag_started.emit()  # what QListView.startDrag does first
    assert window.triplet_dock.isVisible()

    # A photo from outside the library is refused on the drop, saying why; a library photo shows its folder.
    slot = window.triplets.slots["anchor"]
    outside = photos.parent / "elsewhere.jpg"
    shutil.copy2(sorted((photos / "pizza").iterdir())[0], outside)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(outside))])
    assert drop(qtbot, slot, mime)
    qtbot.waitUntil(lambda: "elsewhere.jpg is not in the library" in window.notice.text())
    assert slot.path is None
    inside = sorted((photos / "camera").iterdir())[0]
    assert drop(qtbot, slot, paths_mime([str(inside)]))
    assert slot.path == str(inside) and slot.name.text() == f"camera/{inside.name}"


def test_the_filter_counts_what_it_shows(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    total = window.library.model.rowCount()
    window.library.filter.setText("copies")
    qtbot.waitUntil(lambda: window.library.count.text() == f"2 of {total} photos")
    window.library.filter.clear()
    qtbot.waitUntil(lambda: window.library.count.text() == f"{total} photos")


def test_the_viewer_steps_through_its_grid_and_zooms_with_keys(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    grid = window.library.grid
    grid.setCurrentIndex(window.library.proxy.index(0, 0))
    window.open_viewer_at(grid, grid.currentIndex())
    viewer = window.viewer
    first = viewer.photo
    qtbot.waitUntil(lambda: viewer.view.has_image())
    qtbot.keyClick(viewer, Qt.Key_Right)
    assert viewer.photo != first and viewer.at == 1
    qtbot.keyClick(viewer, Qt.Key_Left)
    assert viewer.photo == first
    qtbot.waitUntil(lambda: viewer.view.has_image())
    fitted = viewer.view.scale_factor()
    qtbot.keyClick(viewer, Qt.Key_Plus)
    assert viewer.view.scale_factor() > fitted * 1.2
    qtbot.keyClick(viewer, Qt.Key_0)
    assert abs(viewer.view.scale_factor() - fitted) < 1e-6
    viewer.close()


def test_the_chart_says_when_every_mark_is_satisfied():
    assert "satisfied after step 40" in describe([(s, 0.5 / (s + 1)) for s in range(40)] + [(s, 0.0) for s in range(40, 90)])
    falling = describe([(s, 1.0 - s / 200) for s in range(100)])
    assert falling.startswith("Step 99: the loss fell from")
    assert "satisfied" not in describe([(s, 0.0) for s in range(3)] + [(3, 0.2)])  # 0 early, not to the end
