"""The window and the command line behave the same on one library: the duplicate threshold (and the
trash's protection of the last copy), the rescan of an unplugged folder, which files count as photos."""
from __future__ import annotations

import json
import os
import shutil

from support.window import accepts_drag, drop, index_and_wait, wait_idle
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtWidgets import QApplication

from photosim.cli import main
from photosim.core.decode import PHOTO_EXTENSIONS
from photosim.services import calibration
from photosim.services.calibration import DupesThreshold
from photosim.services.folders import OFFLINE, scan_plan
from photosim.services.library import readable_photos


def cli(capsys, window, *args: str) -> tuple[int, str, str]:
    """`photosim ARGS --library <the window's library>`, in this process (its own Library object)."""
    capsys.readouterr()
    code = main([*args, "--library", window.shared.lib.directory])
    out, err = capsys.readouterr()
    return code, out, err


def cli_groups(capsys, window) -> set[frozenset[str]]:
    code, out, err = cli(capsys, window, "dupes", "--json")
    assert code == 0, err
    return {frozenset(p["path"] for p in g["photos"]) for g in json.loads(out)}


def window_groups(window) -> set[frozenset[str]]:
    return {frozenset(p.path for p in g.photos) for g in window.duplicates.groups}


def test_window_and_cli_use_one_threshold_and_the_trash_protects_every_listed_group(qtbot, window, photos, capsys):
    index_and_wait(qtbot, window, photos)
    dv = window.duplicates
    lib = window.shared.lib

    # A calibrated library: the window shows the calibrated value, not a value of its own.
    lib.db.set_meta(calibration.META_KEY, "0.8731")
    window.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: dv.used_threshold is not None and not window.shared.runner.busy(), timeout=60000)
    assert dv.used_threshold == DupesThreshold(0.8731, "calibrated")
    assert "0.8731 (calibrated)" in dv.threshold_source.text()
    code, out, _ = cli(capsys, window, "dupes")
    assert code == 0 and out.splitlines()[0].startswith("near-duplicate threshold 0.8731 (calibrated)")
    assert cli_groups(capsys, window) == window_groups(window) and window_groups(window)

    # Set from the command line: the window's next search uses it and says it is the person's.
    assert cli(capsys, window, "config", "dupes.threshold", "0.9")[0] == 0
    dv.find.click()
    qtbot.waitUntil(lambda: dv.used_threshold.value == 0.9 and not window.shared.runner.busy(), timeout=60000)
    assert dv.used_threshold.source == "set by you" and dv.threshold.value() == 0.9
    assert dv.threshold_source.text() == "(set by you)" and dv.reset_threshold.isEnabled()

    # Set in the window: the command line uses it, says so, and finds the same groups.
    dv.threshold.setValue(0.6)
    dv.find.click()
    qtbot.waitUntil(lambda: dv.used_threshold.value == 0.6 and not window.shared.runner.busy(), timeout=60000)
    assert cli(capsys, window, "config", "dupes.threshold")[1].strip() == "0.6000"
    code, _, err = cli(capsys, window, "dupes", "--json")
    assert "near-duplicate threshold 0.6 (set by you)" in err  # --json keeps stdout pure JSON
    assert cli_groups(capsys, window) == window_groups(window)
    code, out, _ = cli(capsys, window, "dupes", "--threshold", "0.95")
    assert "threshold 0.95 for this run only (this library's: 0.6 (set by you))" in out

    # Every group the window lists is one the trash refuses to empty (the same threshold protects it).
    assert dv.groups
    for group in list(dv.groups):
        window.shared.notice.emit("", False)
        window.confirm_trash(group.photos)  # refused before it is asked
        qtbot.waitUntil(lambda: "keep at least one" in window.notice.text(), timeout=60000)
        assert QApplication.activeModalWidget() is None
        assert all(os.path.exists(p.path) for p in group.photos)

    # Reset: back to the calibrated value, in both.
    dv.reset_threshold.click()
    qtbot.waitUntil(lambda: dv.used_threshold.source == "calibrated" and not window.shared.runner.busy(),
                    timeout=60000)
    assert calibration.duplicate_threshold(lib) == DupesThreshold(0.8731, "calibrated")
    assert "(unset)" in cli(capsys, window, "config", "dupes.threshold")[1]


def test_rescan_reports_an_unplugged_folder_offline_in_the_window_as_on_the_command_line(qtbot, window, photos,
                                                                                         capsys):
    accordion, camera = str(photos / "accordion"), str(photos / "camera")
    window.index([accordion, camera])
    qtbot.waitUntil(lambda: window.index_task is None and window.last_report is not None, timeout=120000)
    wait_idle(qtbot, window)
    shutil.move(camera, str(photos / "camera (unplugged)"))  # the drive goes away, its folder with it

    lib = window.shared.lib
    assert scan_plan(lib, []).offline == [camera]  # the one policy both front ends ask
    window.last_report = None
    window.folders.rescan.click()
    qtbot.waitUntil(lambda: window.index_task is None and window.last_report is not None, timeout=120000)
    assert window.last_report.offline_folders == [camera]
    assert f"{OFFLINE}: {camera}" in window.notice.text()
    assert not any(p.path.startswith(camera + os.sep) for p in readable_photos(lib))  # kept, as offline
    code, out, _ = cli(capsys, window, "index")
    assert code == 0 and f"{OFFLINE}: {camera}" in out


def test_the_window_takes_a_dropped_file_of_every_type_the_indexer_reads(qtbot, window, home, caltech):
    source = sorted((caltech / "pizza").iterdir())[0]
    for suffix in sorted(PHOTO_EXTENSIONS):  # .jfif, .jpe and .hif included
        dropped = home / f"dropped{suffix.upper() if suffix == '.jpe' else suffix}"  # case does not matter
        shutil.copy2(source, dropped)
        assert accepts_drag(window, str(dropped)), suffix
    # Any other file is taken too, to answer it: it is not a photo, and nothing is searched.
    for name in ("notes.txt", "layers.psd"):
        (home / name).write_bytes(b"not a photo")
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(home / name))])
        assert drop(qtbot, window, mime)
        assert f"{name} is not a photo photosim reads" in window.notice.text()
        assert window.similar.query is None


def test_a_dropped_jfif_shows_its_similar_photos(qtbot, window, photos, home):
    index_and_wait(qtbot, window, photos)
    dropped = home / "from the web.jfif"  # a JPEG under the name browsers save it with
    shutil.copy2(sorted((photos / "pizza").iterdir())[0], dropped)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])
    assert drop(qtbot, window, mime)
    qtbot.waitUntil(lambda: window.similar.query == str(dropped) and window.similar.model.rowCount() > 0,
                    timeout=30000)
    assert os.sep + "pizza" + os.sep in window.similar.model.photo(0).path
