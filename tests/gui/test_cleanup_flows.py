"""Cleaning up from the window, on real photos and a real library: "Keep the best in every group"
(one confirmation with count and bytes, one Ctrl+Z), the keeper-rules pane, the folder lock, and
the last-copy rule across removals."""
from __future__ import annotations

import os

from support.window import index_and_wait, wait_idle
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from photosim.gui.models.photo_list import ProtectedRole
from photosim.services.wording import human_bytes
from photosim.services import folders as folder_service
from photosim.services import settings
from photosim.store import repositories as repo

from support.helpers import tree_digest


def answer_boxes(button, seen: list[str]) -> None:
    """Press ``button`` in the next modal message box, recording what it asked."""
    def press():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(50, press)
    QTimer.singleShot(50, press)


def to_duplicates(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    window.tabs.setCurrentIndex(1)
    dv = window.duplicates
    qtbot.waitUntil(lambda: dv.list.count() >= 2 and not window.shared.runner.busy())
    return dv


def test_keep_the_best_asks_once_and_ctrl_z_puts_everything_back(qtbot, window, photos):
    dv = to_duplicates(qtbot, window, photos)
    before = tree_digest(photos)
    removable = [p for g in dv.groups for p in g.removable]
    total = sum(p.size for g in dv.groups for p in g.removable)
    assert len(removable) == 2 and len({p.id for p in removable}) == 2
    assert f"up to {human_bytes(total)} to free" in dv.summary.text()

    seen: list[str] = []
    answer_boxes(QMessageBox.Cancel, seen)
    qtbot.mouseClick(dv.keep_best, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(seen) == 1)
    assert f"Move 2 photo(s) ({human_bytes(total)}) from 2 group(s)" in seen[0]
    wait_idle(qtbot, window)
    assert tree_digest(photos) == before  # cancelled: nothing moved

    answer_boxes(QMessageBox.Yes, seen)
    qtbot.mouseClick(dv.keep_best, Qt.LeftButton)
    qtbot.waitUntil(lambda: not any(os.path.exists(p.path) for p in removable), timeout=30000)
    qtbot.waitUntil(lambda: "Ctrl+Z puts them all back" in window.notice.text())
    assert len(seen) == 2  # asked once per click, never per group
    assert all(os.path.exists(g.keep.path) for g in dv.groups)
    qtbot.waitUntil(lambda: dv.list.count() == 0 and not window.shared.runner.busy())

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    dv.grid.setFocus()
    qtbot.keyClick(dv.grid, Qt.Key_Z, Qt.ControlModifier)  # one undo step for the whole removal
    qtbot.waitUntil(lambda: "restored 2" in window.notice.text())
    assert tree_digest(photos) == before
    qtbot.waitUntil(lambda: dv.list.count() == 2)


def test_keeper_rules_pane_sets_the_rules_the_library_keeps(qtbot, window, photos):
    dv = to_duplicates(qtbot, window, photos)
    exact = next(g for g in dv.groups if g.kind == "exact")
    assert "copies" not in exact.keep.path
    qtbot.mouseClick(dv.show_rules, Qt.LeftButton)
    pane = dv.rules_pane
    assert pane.isVisible()

    pane.edits["dupes.format_order"].setText("jpeg,nope")  # a bad value changes nothing
    qtbot.mouseClick(pane.apply, Qt.LeftButton)
    assert "unknown format 'nope'" in window.notice.text()
    assert settings.get(window.shared.lib, "dupes.keep_rules") == ("resolution", "exif", "name", "date")

    pane.load()
    pane.set_order(["folder", "resolution"])
    pane.edits["dupes.folder_priority"].setText(str(photos / "copies"))
    qtbot.mouseClick(pane.apply, Qt.LeftButton)  # written on a worker: the window never waits on the database
    qtbot.waitUntil(lambda: "keeper rules:" in window.notice.text(), timeout=20000)  # not an error
    assert settings.get(window.shared.lib, "dupes.keep_rules") == ("folder", "resolution")
    assert settings.get(window.shared.lib, "dupes.folder_priority") == (str(photos / "copies"),)
    qtbot.waitUntil(lambda: not window.shared.runner.busy() and any(
        g.kind == "exact" and "copies" in g.keep.path for g in dv.groups))
    exact = next(g for g in dv.groups if g.kind == "exact")
    assert "decided by folder" in exact.reason
    dv.list.setCurrentRow(dv.groups.index(exact))
    assert "decided by folder" in dv.reason.text() and dv.model.item(0).note.startswith("★ keep")


def test_folder_lock_protects_its_photos_everywhere(qtbot, window, photos):
    dv = to_duplicates(qtbot, window, photos)
    window.tabs.setCurrentIndex(0)
    panel = window.folders
    qtbot.waitUntil(lambda: panel.list.count() == 1)
    panel.list.setCurrentRow(0)
    assert panel.lock.isEnabled() and not panel.lock.isChecked()
    qtbot.mouseClick(panel.lock, Qt.LeftButton)
    qtbot.waitUntil(lambda: folder_service.protected_folders(window.shared.lib) == [str(photos)])
    qtbot.waitUntil(lambda: panel.list.count() == 1 and not panel.list.item(0).icon().isNull())
    panel.list.setCurrentRow(0)
    assert panel.lock.isChecked() and "Unprotect" in panel.lock.text()

    # Every photo is protected: the groups are still shown, nothing is offered for removal.
    window.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: not window.shared.runner.busy() and dv.list.count() == 2
                    and all(g.protected for g in dv.groups))
    assert not dv.keep_best.isEnabled() and "up to 0 B to free (0 photos)" in dv.summary.text()
    dv.list.setCurrentRow(0)
    assert "always kept" in dv.reason.text() and "protected" in dv.model.item(1).note
    assert dv.grid.selected_rows() == []

    # The window refuses a protected photo before asking anything, in a sentence about the photo: the move
    # is offered disabled, saying why, and Delete (or the menu) says it without a question.
    copy = next(p for g in dv.groups for p in g.photos if p.id != g.keep.id)
    row = next(r for g in dv.groups for r, p in enumerate(g.photos) if p.id == copy.id)
    dv.list.setCurrentRow(next(n for n, g in enumerate(dv.groups) if copy in g.photos))
    dv.grid.selectionModel().clear()
    dv.grid.setCurrentIndex(dv.model.index(row))
    qtbot.waitUntil(lambda: not window.trash_action.isEnabled() and "protected folder" in window.trash_action.toolTip())
    assert not dv.trash.isEnabled() and "protected folder" in dv.trash.toolTip()
    window.confirm_trash([copy])
    qtbot.waitUntil(lambda: "is in the protected folder" in window.notice.text())
    assert "photosim" not in window.notice.text()  # a sentence, not a command line
    assert QApplication.activeModalWidget() is None  # nothing was asked
    assert os.path.exists(copy.path)

    window.tabs.setCurrentIndex(0)
    panel.list.setCurrentRow(0)
    qtbot.mouseClick(panel.lock, Qt.LeftButton)
    qtbot.waitUntil(lambda: folder_service.protected_folders(window.shared.lib) == [])
    qtbot.waitUntil(lambda: panel.list.item(0).icon().isNull())


def test_the_last_copy_is_refused_across_removals_from_the_window(qtbot, window, photos):
    dv = to_duplicates(qtbot, window, photos)
    exact = next(g for g in dv.groups if g.kind == "exact")
    keeper, copy = exact.photos
    seen: list[str] = []
    answer_boxes(QMessageBox.Yes, seen)
    window.confirm_trash([copy])
    qtbot.waitUntil(lambda: not os.path.exists(copy.path))
    wait_idle(qtbot, window)
    with window.shared.lib.db.session() as s:
        keeper = repo.photo_by_path(s, keeper.path)
    window.confirm_trash([keeper])  # the other copy went in an earlier removal: this is the last one
    qtbot.waitUntil(lambda: "still in place" in window.notice.text())
    assert "the others are in the trash (Undo brings them back)" in window.notice.toolTip()
    assert seen == seen[:1] and QApplication.activeModalWidget() is None  # refused before any question
    assert os.path.exists(keeper.path)


def test_bursts_go_only_from_their_scope_and_a_raw_jpeg_pair_shows_both_kept(qtbot, window, home, caltech):
    """A burst (two frames) and a RAW with its camera JPEG: the default scope takes neither; "Bursts only"
    takes every frame but the best shot, asked once; Ctrl+Z puts it back."""
    import numpy as np
    from PIL import Image

    from support.burst_set import save_frame, defocus
    from support.raw_samples import write_dng

    with Image.open(caltech / "pizza" / "image_0001.jpg") as im:
        arr = np.asarray(im.convert("RGB"))
    folder = home / "Pictures" / "trip"
    folder.mkdir(parents=True)
    w = arr.shape[1]
    save_frame(arr[:, : w * 9 // 10], folder / "frame-sharp.jpg")
    save_frame(defocus(arr[:, w // 10:], 2.5), folder / "frame-blurred.jpg")
    with Image.open(caltech / "camera" / "image_0010.jpg") as im:
        picture = im.convert("RGB").resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC)
    write_dng(picture, folder / "IMG_0001.dng", preview=True)
    picture.resize((picture.width // 2, picture.height // 2)).save(folder / "IMG_0001.JPG", quality=90)
    before = tree_digest(folder)
    index_and_wait(qtbot, window, folder)
    window.tabs.setCurrentIndex(1)
    dv = window.duplicates
    qtbot.waitUntil(lambda: dv.list.count() == 2 and not window.shared.runner.busy())
    assert [g.kind for g in dv.groups] == ["burst", "raw+jpeg"]
    assert "1 burst, 1 raw+jpeg" in dv.summary.text()
    dv.list.setCurrentRow(1)
    assert dv.list.item(1).text().startswith("2. RAW + JPEG pair")
    assert [dv.model.item(r).note for r in range(2)] == ["★ keep", "★ keep"]
    assert "RAW + JPEG pair" in dv.reason.text() and dv.grid.selected_rows() == []  # nothing suggested

    # The default scope (copies) has nothing to take here: the figure says so and the button is off.
    assert dv.scope.currentText() == "Exact and near copies"
    assert "up to 0 B to free (0 photos)" in dv.summary.text() and not dv.keep_best.isEnabled()
    assert tree_digest(folder) == before

    assert "Bursts only (all but the best shot)" in [dv.scope.itemText(i) for i in range(dv.scope.count())]
    dv.scope.setCurrentText("Bursts only (all but the best shot)")
    qtbot.waitUntil(lambda: dv.keep_best.isEnabled() and "(1 photo)" in dv.summary.text())
    seen: list[str] = []
    answer_boxes(QMessageBox.Yes, seen)
    qtbot.mouseClick(dv.keep_best, Qt.LeftButton)
    qtbot.waitUntil(lambda: not (folder / "frame-blurred.jpg").exists(), timeout=30000)
    assert len(seen) == 1 and "Move 1 photo(s)" in seen[0] and "its best shot" in seen[0]
    assert (folder / "frame-sharp.jpg").exists() and (folder / "IMG_0001.dng").exists()
    qtbot.waitUntil(lambda: "Ctrl+Z puts them all back" in window.notice.text())
    wait_idle(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    dv.grid.setFocus()
    qtbot.keyClick(dv.grid, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: "restored 1" in window.notice.text())
    assert tree_digest(folder) == before


def test_window_and_cli_dry_run_free_the_same_photos(qtbot, window, photos, home, caltech, capsys):
    """The window's "up to X to free" is what `dupes --remove-copies --dry-run` would move, on one
    library: copies only by default (a burst's frames are different moments), bursts when asked."""
    import re

    import numpy as np
    from PIL import Image

    from support.burst_set import defocus, save_frame
    from photosim.cli import main

    with Image.open(caltech / "bonsai" / "image_0001.jpg") as im:  # a class the fixture's photos leave out
        arr = np.asarray(im.convert("RGB"))
    w = arr.shape[1]
    burst = photos / "burst"
    burst.mkdir()
    save_frame(arr[:, : w * 9 // 10], burst / "frame-sharp.jpg")
    save_frame(defocus(arr[:, w // 10:], 2.5), burst / "frame-blurred.jpg")
    dv = to_duplicates(qtbot, window, photos)
    qtbot.waitUntil(lambda: any(g.kind == "burst" for g in dv.groups) and not window.shared.runner.busy())
    frames = next(g for g in dv.groups if g.kind == "burst").removable
    assert frames  # the burst's own suggestion selects a frame ...
    library = str(home / "library")

    def dry_run(*kinds: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(["--library", library, "dupes", "--remove-copies", "--dry-run",
                     *(a for k in kinds for a in ("--kind", k))])
        out = capsys.readouterr().out
        assert code == 0, out
        found = re.search(r"would move (\d+) photo\(s\), ([\d.]+ [KMG]?B),", out)
        assert found, out
        assert not any(f"would move: {p.path}" in out for p in frames) or "burst" in kinds
        return int(found.group(1)), found.group(2)

    def window_figure() -> tuple[int, str]:
        found = re.search(r"up to ([\d.]+ [KMG]?B) to free \((\d+) photos?\)", dv.summary.text())
        assert found, dv.summary.text()
        return int(found.group(2)), found.group(1)

    copies = [p for g in dv.groups if g.kind != "burst" for p in g.removable]
    assert window_figure() == dry_run() == (len(copies), human_bytes(sum(p.size for p in copies)))
    # ... but the default removal of copies never takes it, and the figure does not count it.
    assert all(f.path not in dv.summary.text() for f in frames)
    dv.scope.setCurrentText("Copies and bursts (all but the best shot)")
    qtbot.waitUntil(lambda: window_figure()[0] == len(copies) + len(frames) and not window.shared.runner.busy())
    assert window_figure() == dry_run("exact", "near", "burst")
    capsys.readouterr()
    assert main(["--library", library, "dupes"]) == 0
    assert f"up to {human_bytes(sum(p.size for p in copies))} to free by removing {len(copies)} copies" in \
        capsys.readouterr().out


def right_click(grid, row: int, then) -> list[str]:
    """Right-click the photo at ``row`` (the context-menu event a mouse sends) and hand the menu that
    opens to ``then`` (which triggers an action); the texts of its actions are returned."""
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QMenu

    seen: list[str] = []

    def act():
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(50, act)
            return
        seen.extend(a.text() for a in menu.actions())
        then(menu)
        menu.close()

    QTimer.singleShot(50, act)
    pos = grid.visualRect(grid.model().index(row, 0)).center()
    QApplication.sendEvent(grid.viewport(), QContextMenuEvent(QContextMenuEvent.Mouse, pos))
    return seen


def _lock_action(menu):
    return next(a for a in menu.actions() if "rotect the folder" in a.text())


def test_a_photos_menu_protects_its_subfolder(qtbot, window, photos):
    """A folder inside a library folder is protected from a photo's right-click menu, through the same
    service as `photosim folders protect`: listed with its lock, its copy no longer proposed; the same
    menu lifts the lock."""
    dv = to_duplicates(qtbot, window, photos)
    copies = str(photos / "copies")
    exact = next(g for g in dv.groups if g.kind == "exact")
    copy = next(p for p in exact.photos if p.path.startswith(copies + os.sep))
    assert exact.removable == [copy]
    dv.list.setCurrentRow(dv.groups.index(exact))
    row = [p.id for p in dv.model.photos()].index(copy.id)

    texts = right_click(dv.grid, row, lambda menu: _lock_action(menu).trigger())
    assert texts == ["Open", "Show similar photos", "Move to trash…", "", "Protect the folder “copies”"]
    qtbot.waitUntil(lambda: folder_service.protected_folders(window.shared.lib) == [copies])
    panel = window.folders
    qtbot.waitUntil(lambda: copies in [panel.list.item(i).text() for i in range(panel.list.count())])
    qtbot.waitUntil(lambda: not window.shared.runner.busy() and any(
        g.kind == "exact" and copy.id in g.protected for g in dv.groups))
    exact = next(g for g in dv.groups if g.kind == "exact")
    assert exact.removable == []  # the copy in the protected subfolder is never proposed

    dv.list.setCurrentRow(dv.groups.index(exact))
    row = [p.id for p in dv.model.photos()].index(copy.id)
    assert dv.model.data(dv.model.index(row), ProtectedRole) == copies  # its cell carries the lock
    dv.grid.selectionModel().clear()
    dv.grid.setCurrentIndex(dv.model.index(row))
    qtbot.waitUntil(lambda: not window.trash_action.isEnabled())
    trash_item: list = []
    texts = right_click(dv.grid, row, lambda menu: (trash_item.extend(
        (a.isEnabled(), a.toolTip()) for a in menu.actions() if a.text() == "Move to trash…"), _lock_action(menu).trigger()))
    assert trash_item and trash_item[0][0] is False and "protected folder" in trash_item[0][1]  # offered off, saying why
    assert texts[-1] == "Unprotect the folder “copies”"
    qtbot.waitUntil(lambda: folder_service.protected_folders(window.shared.lib) == [])
    qtbot.waitUntil(lambda: not window.shared.runner.busy() and any(
        g.kind == "exact" and g.removable == [copy] for g in dv.groups))


def test_undo_in_the_window_puts_back_what_it_can_and_says_where_the_rest_waits(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    from photosim.services import trash as trash_service

    pizza = sorted((photos / "pizza").iterdir())[0]
    camera = sorted((photos / "camera").iterdir())[1]
    before = {p: p.read_bytes() for p in (pizza, camera)}
    trash_service.trash(window.shared.lib, [str(pizza), str(camera)])
    blocked_folder = photos / "pizza"
    kept = [p for p in blocked_folder.iterdir()]
    aside = photos.parent / "pizza-aside"
    blocked_folder.rename(aside)
    blocked_folder.write_text("a file where the folder was")
    seen: list[str] = []
    answer_boxes(QMessageBox.Ok, seen)
    window.undo()
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=30000)
    assert "1 could not go back" in seen[0] and "is now a file" in seen[0] and "Undo (Ctrl+Z) again" in seen[0]
    qtbot.waitUntil(lambda: "could not go back yet" in window.notice.text())
    assert camera.read_bytes() == before[camera]
    blocked_folder.unlink()
    aside.rename(blocked_folder)
    assert len(list(blocked_folder.iterdir())) == len(kept)
    window.undo()
    qtbot.waitUntil(lambda: pizza.exists() and "could not" not in window.notice.text(), timeout=30000)
    assert "restored 1 photo" in window.notice.text() and pizza.read_bytes() == before[pizza]
