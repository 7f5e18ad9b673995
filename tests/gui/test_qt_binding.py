"""The Qt binding keeps the window alive through long use: PySide6 6.12.0 dropped a reference to None each
time QModelIndex.data() read a role the model has no value for, and the window died ("Fatal Python error:
none_dealloc") after a few minutes of scrolling (benchmarks/gui_responsiveness.py found it). pyproject.toml
leaves that version out; this test fails on it."""
from __future__ import annotations

import sys

from PySide6.QtCore import QSortFilterProxyModel, Qt

from photosim.core.types import Photo, PhotoState
from photosim.gui.models.photo_list import ProtectedRole, PhotoListModel, ScoreRole, make_items


def test_reading_an_empty_role_keeps_the_reference_to_none(qtbot, home):
    from photosim.gui.thumbnails import ThumbnailLoader

    thumbs = ThumbnailLoader(str(home / "thumbs"))
    model = PhotoListModel(thumbs)
    model.set_items(make_items([Photo(1, str(home / "a.jpg"), 1, 1, None, 10, 10, PhotoState.OK)]))
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    for index in (model.index(0), proxy.index(0, 0)):  # what a delegate reads, through a proxy too
        before = sys.getrefcount(None)
        for _ in range(2000):
            assert index.data(ScoreRole) is None and index.data(ProtectedRole) is None
            assert index.data(Qt.UserRole + 99) is None
        assert sys.getrefcount(None) >= before - 10, "the binding drops references to None"
    thumbs.shutdown()
