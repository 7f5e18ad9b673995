"""The embedding pipeline: ONNX Runtime gives the torch module's vectors, batches come back whole and
in order, a cancel stops it and keeps only finished batches.

Real photos, the real pretrained backbone, the real exported graph.
"""
from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest

from photosim.core.decode import decode_file, read_stat
from photosim.core.embed import OnnxEngine, TorchEngine, embed_files
from photosim.core.onnx_graph import onnx_path, static_padding
from photosim.core.types import DecodedPhoto, DecodeError


def _photos(caltech: Path, n: int) -> list[Path]:
    """``n`` real photos spread over the classes."""
    every = sorted(p for p in caltech.rglob("*.jpg"))
    return every[:: max(1, len(every) // n)][:n]


def test_onnx_vectors_match_torch_on_real_photos(caltech, engine):
    """The exported graph (frozen padding, ORT's graph rewrites) computes what the torch module does."""
    assert isinstance(engine, OnnxEngine)
    photos = [decode_file(str(p)) for p in _photos(caltech, 24)]
    pixels = np.stack([p.pixels for p in photos])
    ours = engine(pixels)
    reference = TorchEngine(engine.spec)(pixels)
    assert ours.shape == reference.shape == (24, 1280)
    assert np.abs(ours - reference).max() < 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_frozen_padding_is_exactly_timm_same_padding():
    """The copy with static padding computes bit for bit what timm's shape-dependent padding does."""
    import torch

    from photosim.core.backbone import EmbeddingSpec, embedder

    module = embedder(EmbeddingSpec())
    frozen = static_padding(module, 224)
    x = torch.randint(0, 256, (2, 224, 224, 3), dtype=torch.uint8)
    with torch.inference_mode():
        assert torch.equal(frozen(x), module(x))
    replaced = [m for m in frozen.modules() if type(m).__name__ == "FrozenSameConv"]
    assert len(replaced) == 5  # the stem and the four stride-2 depthwise convolutions of Lite0


def test_exported_graph_has_no_pad_between_convolutions(engine):
    """A Pad node between convolutions stops ORT's blocked layout (a third of the time lost)."""
    import onnx

    graph = onnx.load(onnx_path(engine.spec)).graph
    ops = [n.op_type for n in graph.node]
    assert "Pad" not in ops and "Ceil" not in ops  # no padding computed from the input's shape
    asymmetric = [n for n in graph.node if n.op_type == "Conv"
                  and any(a.name == "pads" and list(a.ints)[:2] != list(a.ints)[2:] for a in n.attribute)]
    assert len(asymmetric) == 5


def test_batches_are_whole_and_in_input_order(caltech, engine, tmp_path):
    files = [read_stat(str(p)) for p in _photos(caltech, 20)]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(Path(files[0].path).read_bytes()[:300])
    files.insert(7, read_stat(str(broken)))
    started = []
    batches = list(embed_files(files, engine, batch_size=6, on_start=started.append))
    seen = [x.path for b in batches for x in b.photos + b.errors]
    assert sorted(seen) == sorted(f.path for f in files) and len(seen) == len(files)
    assert started == [f.path for f in files]
    assert [x.path for b in batches for x in b.photos] == [f.path for f in files if f.path != str(broken)]
    assert [e.path for b in batches for e in b.errors] == [str(broken)]
    for b in batches:
        assert len(b.photos) + len(b.errors) <= 6
        if b.photos:  # each batch's vectors belong to its own photos
            assert np.allclose(b.vectors, engine(np.stack([p.pixels for p in b.photos])), atol=1e-5)


def test_cancel_stops_and_keeps_only_finished_batches(caltech, engine):
    files = [read_stat(str(p)) for p in _photos(caltech, 64)]
    stop = threading.Event()
    got = []
    for batch in embed_files(files, engine, batch_size=8, cancelled=stop.is_set):
        got.append(batch)
        stop.set()  # asked to stop while later batches are decoding and embedding
    assert 1 <= len(got) < 8
    for b in got:
        assert len(b.photos) == 8 and b.vectors.shape == (8, 1280)
    assert not [t for t in threading.enumerate() if t.name.startswith(("decode", "infer"))]


def test_abandoned_pipeline_shuts_down(caltech, engine):
    files = [read_stat(str(p)) for p in _photos(caltech, 48)]
    it = embed_files(files, engine, batch_size=8)
    first = next(it)
    it.close()  # the consumer stops early (an exception in the caller does the same)
    assert len(first.photos) == 8
    assert not [t for t in threading.enumerate() if t.name.startswith(("decode", "infer"))]


def test_abort_interrupts_a_running_batch(caltech, engine):
    """Cancel must not wait for a whole batch of inference: the run in progress is terminated."""
    pixels = np.stack([decode_file(str(p)).pixels for p in _photos(caltech, 8)] * 8)
    outcome = {}

    def run():
        try:
            outcome["vectors"] = engine(pixels)
        except Exception as exc:  # noqa: BLE001 - ORT raises a generic failure when terminated
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    while worker.is_alive() and not engine._running:
        threading.Event().wait(0.001)
    engine.abort()
    worker.join()
    assert "error" in outcome and "terminate" in str(outcome["error"]).lower()
    assert engine(pixels[:2]).shape == (2, 1280)  # the engine is still usable afterwards


def test_decode_errors_pass_through_in_order(engine, tmp_path):
    from PIL import Image

    good = tmp_path / "good.png"
    buf = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(buf, "PNG")
    good.write_bytes(buf.getvalue())
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    batches = list(embed_files([read_stat(str(empty)), read_stat(str(good))], engine, batch_size=4))
    assert len(batches) == 1
    assert [type(x) for x in batches[0].errors] == [DecodeError]
    assert [type(x) for x in batches[0].photos] == [DecodedPhoto]
    assert batches[0].vectors.shape == (1, 1280)


@pytest.mark.parametrize("threads,streams", [(2, 1)])
def test_engine_thread_layouts_give_the_same_vectors(caltech, engine, threads, streams):
    pixels = np.stack([decode_file(str(p)).pixels for p in _photos(caltech, 4)])
    other = OnnxEngine(engine.spec, threads=threads, streams=streams)
    assert np.abs(other(pixels) - engine(pixels)).max() < 1e-5


def test_indexing_and_store_import_without_torch():
    """A rescan that embeds nothing must not pay torch's import (seconds on a small machine)."""
    import subprocess
    import sys

    code = ("import sys, photosim.services.indexing, photosim.services.similar, photosim.services.duplicates, photosim.store.library; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
