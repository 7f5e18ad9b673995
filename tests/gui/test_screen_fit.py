"""The window fits a 1366x768 laptop screen: on every tab, in the states that make it largest (a
duplicate group compared side by side, the keeper-rules pane open, the triplet slots filled), its
minimum size plus a window frame fits the screen less a desktop panel.

Measured offscreen with Qt's default font, on a real library of real photos."""
from __future__ import annotations

from support.window import index_and_wait, wait_idle

#: The screen, less a desktop panel (28 px), and what a window manager adds around the window.
SCREEN = (1366, 768 - 28)
FRAME = (16, 40)  # borders; the title bar


def fits(window) -> tuple[bool, str]:
    window.layout().activate()
    least = window.minimumSizeHint()
    tab = window.tabs.tabText(window.tabs.currentIndex())
    ok = least.width() + FRAME[0] <= SCREEN[0] and least.height() + FRAME[1] <= SCREEN[1]
    return ok, f"{tab}: minimum {least.width()}x{least.height()} + frame {FRAME} > {SCREEN}"


def test_every_tab_fits_a_1366x768_screen(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    first = sorted((photos / "accordion").iterdir())
    for slot, path in zip(window.triplets.slots.values(), first):
        slot.set_path(str(path))
    dv = window.duplicates
    seen = []
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        wait_idle(qtbot, window)
        seen.append(window.tabs.tabText(i))
        assert fits(window)[0], fits(window)[1]
        if window.tabs.currentWidget() is dv:
            qtbot.waitUntil(lambda: dv.list.count() >= 2 and not window.shared.runner.busy())
            for row in range(dv.list.count()):
                dv.list.setCurrentRow(row)
                wait_idle(qtbot, window)
                assert dv.compare is not None and dv.compare.isVisible()
                assert fits(window)[0], fits(window)[1]
            dv.show_rules.setChecked(True)
            assert dv.rules_pane.isVisible()
            assert fits(window)[0], "rules pane open: " + fits(window)[1]
            dv.show_rules.setChecked(False)
            assert dv.compare.isVisible()  # closing the rules shows the comparison again
    assert seen == ["Photos", "Duplicates", "Labels", "Train"]
    # The window can be made that small: nothing forces it wider or taller than the screen.
    window.resize(SCREEN[0] - FRAME[0], SCREEN[1] - FRAME[1])
    wait_idle(qtbot, window)
    assert window.width() <= SCREEN[0] - FRAME[0] and window.height() <= SCREEN[1] - FRAME[1]
