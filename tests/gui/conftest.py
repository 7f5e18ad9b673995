"""GUI fixtures: a real window over a real library in a temporary home, settings and thumbnail cache."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# Skipped on a machine without them, saying why; under CI=true a skip fails the run (support/ci.py),
# so a broken PySide6 cannot turn the window's tests into skips there.
pytest.importorskip("pytestqt", reason="pytest-qt is not installed (pip install pytest-qt)")
pytest.importorskip("PySide6", reason="PySide6 is not installed")

from support.window import make_window  # noqa: E402
from support.helpers import copy_photos  # noqa: E402


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    """A temporary home: nothing a test does can reach the real ~/Pictures or settings."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setenv("PHOTOSIM_SETTINGS", str(h / "photosim.ini"))
    return h


@pytest.fixture
def photos(home: Path) -> Path:
    """Real photos (3 classes × 6) plus an exact copy and a smaller re-encoded copy of one of them."""
    from PIL import Image

    root = copy_photos(home / "Pictures")
    first = sorted((root / "accordion").iterdir())[0]
    (root / "copies").mkdir()
    shutil.copy2(first, root / "copies" / "exact copy.jpg")
    second = sorted((root / "camera").iterdir())[0]
    with Image.open(second) as im:
        im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(root / "copies" / "smaller.jpg", quality=75)
    return root


@pytest.fixture
def window(qtbot, home, engine):
    w = make_window(qtbot, home)
    yield w
    w.close()  # joins every worker thread (closeEvent -> shutdown)
    assert w.shared.runner.pool.activeThreadCount() == 0
    w.shared.lib.close()
