"""Shared fixtures: the real shared photos, a real library, one embedding engine per run."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.helpers import ROOT, Recorder, caltech_or_skip, copy_photos  # noqa: E402

pytest_plugins = ["support.ci"]  # under CI=true a skipped test fails the run

# The exported ONNX graph is cached between runs, inside the repo's ignored pytest cache,
# never in the user's own cache folder.
os.environ.setdefault("PHOTOSIM_CACHE", str(ROOT / ".pytest_cache" / "photosim-cache"))


#: What makes a test module part of the real layer: real photos, the pretrained network, a child
#: process, a window. The others form the fast layer (`make test-fast`, marker "fast"): small
#: libraries made in the test from synthetic vectors and files.
REAL = ("copy_photos", "caltech", "engine", "subprocess", "CALTECH", "qtbot", "make_window", "photos_dir")


def pytest_collection_modifyitems(config, items) -> None:
    fast = pytest.mark.fast
    sources: dict[str, bool] = {}
    for item in items:
        path = str(item.fspath)
        if path not in sources:
            text = Path(path).read_text()
            sources[path] = not any(word in text for word in REAL)
        if sources[path] and not set(item.fixturenames) & {"caltech", "engine", "photo_tree", "qtbot"}:
            item.add_marker(fast)


@pytest.fixture(scope="session")
def caltech() -> Path:
    return caltech_or_skip()


@pytest.fixture(scope="session")
def engine():
    """The real pretrained Lite0 engine (ONNX Runtime), made once per test run."""
    from photosim.core.backbone import EmbeddingSpec
    from photosim.core.embed import make_engine

    return make_engine(EmbeddingSpec())


@pytest.fixture
def photo_tree(tmp_path: Path) -> Path:
    return copy_photos(tmp_path / "photos")


@pytest.fixture
def library(tmp_path: Path):
    from photosim.store.library import Library

    lib = Library(str(tmp_path / "library"))
    yield lib
    lib.close()


@pytest.fixture
def ctx() -> Recorder:
    return Recorder()
