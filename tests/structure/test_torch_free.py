"""Browsing needs no torch: the store, indexing through ONNX Runtime, search, duplicates and
the window's modules import and run with torch blocked.

This is what lets the bundle leave torch out (packaging/README.md): only exporting
the ONNX graph, the torch fallback engine and fine-tuning need it. The child
process installs a meta-path finder that refuses torch (and timm, which is torch),
so any import of it, however indirect, fails the command under test.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from support.helpers import ROOT, copy_photos

BLOCKER = textwrap.dedent('''
    import importlib.abc, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in ("torch", "timm", "torchvision"):
                raise ImportError(f"torch is blocked in this test: {name}", name=name)
            return None

    sys.meta_path.insert(0, NoTorch())
''')

CLI = BLOCKER + textwrap.dedent('''
    from photosim.cli import main
    code = main(sys.argv[1:])
    assert "torch" not in sys.modules, "torch got imported"
    sys.exit(code)
''')


def run_without_torch(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_index_similar_dupes_without_torch(engine, tmp_path, caltech) -> None:
    """`engine` exports the ONNX graph into the cache (with torch, in this process); the child then
    indexes, searches and finds duplicates with torch unavailable."""
    tree = copy_photos(tmp_path / "photos", classes=("accordion", "camera"), per_class=5)
    first = sorted((tree / "camera").iterdir())[0]
    (tree / "camera" / "copy.jpg").write_bytes(first.read_bytes())
    lib = str(tmp_path / "lib")

    index = run_without_torch(CLI, "--library", lib, "index", "-q", str(tree))
    assert index.returncode == 0, index.stderr
    similar = run_without_torch(CLI, "--library", lib, "similar", "--json", "--all-copies", str(first))
    assert similar.returncode == 0, similar.stderr
    top = [os.path.basename(r["path"]) for r in json.loads(similar.stdout)[:3]]
    assert "copy.jpg" in top, top  # the byte copy is the nearest photo
    similar = run_without_torch(CLI, "--library", lib, "similar", "--json", str(first))
    assert similar.returncode == 0, similar.stderr
    assert "copy.jpg" not in similar.stdout  # the query's own copy is left out, like the query
    dupes = run_without_torch(CLI, "--library", lib, "dupes")
    assert dupes.returncode == 0, dupes.stderr
    assert "copy.jpg" in dupes.stdout

    train = run_without_torch(CLI, "--library", lib, "train")
    assert train.returncode == 2
    assert "fine-tuning needs the full install" in train.stderr
    assert "Traceback" not in train.stderr


def test_window_modules_import_without_torch() -> None:
    script = BLOCKER + textwrap.dedent('''
        import photosim.gui.main_window, photosim.gui.app, photosim.gui.indexer
        from photosim.services.can_train import training_available
        assert not training_available()
        assert "torch" not in sys.modules
        print("ok")
    ''')
    result = run_without_torch(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("kind", ["residual", "lowrank", "projection"])
def test_numpy_adapter_matches_torch(kind: str) -> None:
    """Search and indexing apply a trained model with numpy; it must give the torch module's vectors."""
    import torch

    from photosim.core.train.adapter import Adapter, AdapterConfig
    from photosim.core.train.apply import NumpyAdapter

    torch.manual_seed(0)
    model = Adapter(AdapterConfig(dim=64, kind=kind, hidden=16, out_dim=32))
    with torch.no_grad():  # non-trivial weights: the init makes residual kinds the identity
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
        model.shift.copy_(torch.randn(64) * 0.1)
    x = np.random.default_rng(0).standard_normal((50, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    expected = model.apply_numpy(x)
    got = NumpyAdapter(model.to_bytes()).apply_numpy(x, chunk=7)
    assert got.shape == expected.shape == (50, 32 if kind == "projection" else 64)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, x[:, :got.shape[1]], atol=1e-3)  # the adapter really changed them


def test_frozen_bundle_uses_its_shipped_graph(engine, tmp_path, caltech) -> None:
    """A frozen bundle has no torch to export the graph: embed.py must take the one shipped in
    <bundle>/photosim/models (what packaging/photosim.spec puts there), not try the cache."""
    from photosim.core.onnx_graph import bundled_onnx_name, onnx_path
    from photosim.core.spec import EmbeddingSpec

    spec = EmbeddingSpec()
    bundle = tmp_path / "bundle"
    (bundle / "photosim" / "models").mkdir(parents=True)
    (bundle / "photosim" / "models" / bundled_onnx_name(spec)).write_bytes(open(onnx_path(spec), "rb").read())
    empty_cache = tmp_path / "cache"
    photo = sorted((caltech / "camera").iterdir())[0]
    script = BLOCKER + textwrap.dedent(f'''
        sys.frozen, sys._MEIPASS = True, {str(bundle)!r}
        from photosim.core.embed import OnnxEngine
        from photosim.core.spec import EmbeddingSpec
        from photosim.core.decode import decode_file
        engine = OnnxEngine(EmbeddingSpec())
        image = decode_file({str(photo)!r}).pixels
        vector = engine(image[None])[0]
        print(round(float((vector * vector).sum()), 3))
    ''')
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PHOTOSIM_CACHE": str(empty_cache)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1.0"  # a unit vector came out
    assert not empty_cache.exists()  # nothing was exported or looked up there
