"""Every tab is usable from 1024x600 up: rendered at 1024x600, 1280x720, 1366x768 and 1920x1080, in the
states that make it largest (a duplicate group compared side by side, the keeper-rules pane open, the
triplet slots open and filled, similar results shown), no visible widget is squashed below the size Qt
needs to draw it (its minimum size hint) and no label's text is cut. The window's own minimum is at most
1024x600.

Measured offscreen with Qt's default font, on a real library of real photos."""
from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractButton, QHeaderView, QLabel, QSizePolicy, QWidget

from support.window import index_and_wait, wait_idle

SIZES = ((1024, 600), (1280, 720), (1366, 768), (1920, 1080))


def _least(w: QWidget) -> QSize:
    """What a layout keeps a widget at, at least: its minimum size where one is set, else its hint."""
    hint, set_ = w.minimumSizeHint(), w.minimumSize()
    return QSize(set_.width() or max(hint.width(), 0), set_.height() or max(hint.height(), 0))


def _label_cut(label: QLabel) -> bool:
    text = label.text()
    if not text or label.pixmap() is not None and not label.pixmap().isNull():
        return False
    room = label.contentsRect()
    if label.wordWrap():
        return label.heightForWidth(room.width()) > room.height() + 1
    if label.textFormat() != 0 and ("<" in text):  # rich text: its laid-out width
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setHtml(text)
        doc.setDocumentMargin(0)
        return doc.idealWidth() > room.width() + 1
    return max(label.fontMetrics().horizontalAdvance(line) for line in text.split("\n")) > room.width() + 1


def _part_of_another(w: QWidget) -> bool:
    """Qt's own insides (a spin box's line edit, a table's header): their owner is what is measured."""
    return w.objectName().startswith("qt_") or isinstance(w, QHeaderView)


def problems(window) -> list[str]:
    """Visible widgets drawn smaller than they need, and labels whose text does not fit."""
    window.layout().activate()
    out = []
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.isWindow() or _part_of_another(w):
            continue
        policy = w.sizePolicy()
        least = _least(w)
        name = f"{type(w).__name__} {w.objectName() or ''}{(' ' + w.text()[:40]) if hasattr(w, 'text') and callable(w.text) and isinstance(w.text(), str) else ''}"
        if policy.horizontalPolicy() != QSizePolicy.Ignored and w.width() < least.width():
            out.append(f"{name}: {w.width()} px wide, needs {least.width()}")
        if policy.verticalPolicy() != QSizePolicy.Ignored and w.height() < least.height():
            out.append(f"{name}: {w.height()} px high, needs {least.height()}")
        if isinstance(w, QLabel) and _label_cut(w):
            out.append(f"{name}: its text is cut at {w.width()}x{w.height()}")
        if isinstance(w, QAbstractButton) and w.text() and \
                w.fontMetrics().horizontalAdvance(w.text().replace("&", "")) > w.width():
            out.append(f"{name}: its text is cut at {w.width()} px")
    return out


def test_every_tab_is_usable_from_1024x600_up(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    window.library.select_path(str(sorted((photos / "accordion").iterdir())[0]))
    qtbot.waitUntil(lambda: window.similar.model.rowCount() > 3, timeout=30000)
    window.open_triplets()
    for slot, path in zip(window.triplets.slots.values(), sorted((photos / "camera").iterdir())):
        slot.set_path(str(path))
    dv = window.duplicates
    window.setMinimumSize(0, 0)
    least = window.minimumSizeHint()
    assert least.width() <= 1024 and least.height() <= 600, f"the window's minimum is {least.width()}x{least.height()}"
    seen = []
    for size in SIZES:
        window.resize(*size)
        wait_idle(qtbot, window)
        qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5000)
        for i in range(window.tabs.count()):
            window.tabs.setCurrentIndex(i)
            wait_idle(qtbot, window)
            tab = f"{window.tabs.tabText(i)} at {size[0]}x{size[1]}"
            seen.append(tab)
            assert not problems(window), f"{tab}: " + "; ".join(problems(window))
            if window.tabs.currentWidget() is dv:
                qtbot.waitUntil(lambda: dv.list.count() >= 2 and not window.shared.runner.busy(), timeout=60000)
                dv.list.setCurrentRow(0)
                wait_idle(qtbot, window)
                assert dv.compare is not None and dv.compare.isVisible()
                assert not problems(window), f"{tab}, a group compared: " + "; ".join(problems(window))
                if size == (1366, 768):  # the comparison gets the room
                    assert dv.compare.height() >= 300, dv.compare.height()
                dv.show_rules.setChecked(True)
                assert not problems(window), f"{tab}, keeper rules open: " + "; ".join(problems(window))
                dv.show_rules.setChecked(False)
                assert dv.compare.isVisible()  # closing the rules shows the comparison again
    assert len(seen) == 4 * len(SIZES)
