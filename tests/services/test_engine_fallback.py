"""When ONNX Runtime cannot run (here: a damaged exported graph in the cache), indexing still
embeds, on torch, and says so: in its report (the window's status bar shows the same field) and in
`photosim info`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.helpers import copy_photos

from photosim.core.onnx_graph import onnx_path
from photosim.core.spec import EmbeddingSpec

ROOT = Path(__file__).resolve().parents[2]


def test_a_broken_onnx_graph_falls_back_to_torch_and_says_so(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("PHOTOSIM_CACHE", str(cache))
    graph = Path(onnx_path(EmbeddingSpec()))
    graph.parent.mkdir(parents=True)
    graph.write_bytes(b"not an ONNX graph")
    photos = copy_photos(tmp_path / "photos", classes=("cup",), per_class=3)
    env = {**os.environ, "PHOTOSIM_CACHE": str(cache)}
    env.pop("PHOTOSIM_ENGINE", None)
    lib = str(tmp_path / "lib")
    run = lambda *a: subprocess.run([sys.executable, "-m", "photosim.cli", "--library", lib, *a],  # noqa: E731
                                    capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    index = run("index", "-q", str(photos))
    assert index.returncode == 0, index.stderr
    assert "3 embedded" in index.stdout and "note: ONNX Runtime failed" in index.stdout, index.stdout
    info = run("info")
    assert "engine:    ONNX Runtime failed" in info.stdout and "torch" in info.stdout, info.stdout
