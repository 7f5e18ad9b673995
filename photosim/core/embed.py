"""Turn photo files into vectors: decoding overlaps inference and uses every core.

Decoding runs in a small thread pool (Pillow and the JPEG decoder release the
GIL), inference runs in ONNX Runtime (3-8x faster than eager torch on a
laptop CPU) with torch as the fallback. The ONNX graph is exported once from
the same torch module and cached per spec, so both engines give the same
vectors.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from .backbone import EmbeddingSpec, embedder
from .decode import decode_file
from .types import DecodedPhoto, DecodeError, FileStat


class TorchEngine:
    name = "torch"

    def __init__(self, spec: EmbeddingSpec) -> None:
        import torch

        self.spec = spec
        self._torch = torch
        self._module = embedder(spec)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images))
            return self._module(x).numpy().astype(np.float32)


class OnnxEngine:
    name = "onnxruntime"

    def __init__(self, spec: EmbeddingSpec, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.spec = spec
        path = onnx_path(spec)
        if not os.path.exists(path):
            export_onnx(spec, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"images": np.ascontiguousarray(images)})[0]


def cache_dir() -> str:
    env = os.environ.get("PHOTOSIM_CACHE")
    if env:
        return env
    import platformdirs

    return platformdirs.user_cache_dir("photosim", appauthor=False)


def onnx_path(spec: EmbeddingSpec) -> str:
    import onnxruntime
    import torch

    tag = f"{spec.key}-torch{torch.__version__.split('+')[0]}-ort{onnxruntime.__version__}"
    return os.path.join(cache_dir(), "onnx", tag + ".onnx")


def export_onnx(spec: EmbeddingSpec, path: str) -> None:
    import torch

    os.makedirs(os.path.dirname(path), exist_ok=True)
    module = embedder(spec)
    sample = torch.zeros((2, spec.size, spec.size, 3), dtype=torch.uint8)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(path))
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (sample,), tmp, input_names=["images"], output_names=["vectors"],
                              dynamic_axes={"images": {0: "n"}, "vectors": {0: "n"}},
                              opset_version=17, dynamo=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def make_engine(spec: EmbeddingSpec, prefer: str = "onnx"):
    """The fastest engine available; torch when ONNX Runtime is missing or fails."""
    if prefer == "onnx" and os.environ.get("PHOTOSIM_ENGINE", "onnx") != "torch":
        try:
            return OnnxEngine(spec)
        except Exception as exc:  # noqa: BLE001 - any ORT/export failure falls back to torch
            warnings.warn(f"ONNX Runtime unavailable ({exc}); using torch", RuntimeWarning)
    return TorchEngine(spec)


@dataclass
class Batch:
    photos: list[DecodedPhoto]
    vectors: np.ndarray  # (len(photos), D) float32, unit rows
    errors: list[DecodeError]
    others: list = field(default_factory=list)  # whatever else ``decode`` returned (e.g. moved files)


def embed_files(
    files: Iterable[FileStat],
    engine,
    batch_size: int = 32,
    workers: int | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    on_start: Callable[[str], None] | None = None,
    decode: Callable[[FileStat], object] | None = None,
) -> Iterator[Batch]:
    """Decode ``files`` in threads and embed them in batches, yielding as each batch is done.

    Stops between photos when ``cancelled()`` turns true; whatever was yielded
    before is complete. ``on_start(path)`` is called before a file is decoded
    (the store records it, so a crash inside a decoder can be blamed on the file).
    ``decode(stat)`` replaces the plain decoder; results that are neither a
    DecodedPhoto nor a DecodeError are passed through in ``Batch.others``.
    """
    decode = decode or (lambda f: decode_file(f.path, size))
    workers = workers or max(1, os.cpu_count() or 1)
    size = engine.spec.size
    todo = iter(files)
    window: deque[Future] = deque()
    ahead = batch_size * 2

    def submit(pool: ThreadPoolExecutor) -> bool:
        f = next(todo, None)
        if f is None:
            return False
        if on_start:
            on_start(f.path)
        window.append(pool.submit(decode, f))
        return True

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        more = True
        while more and len(window) < ahead:
            more = submit(pool)
        while window:
            photos: list[DecodedPhoto] = []
            errors: list[DecodeError] = []
            others: list = []
            while window and len(photos) < batch_size:
                if cancelled():
                    for fut in window:
                        fut.cancel()
                    return
                result = window.popleft().result()
                if isinstance(result, DecodedPhoto):
                    photos.append(result)
                elif isinstance(result, DecodeError):
                    errors.append(result)
                else:
                    others.append(result)
                if more:
                    more = submit(pool)
            if cancelled():
                for fut in window:
                    fut.cancel()
                return
            if photos:
                vectors = engine(np.stack([p.pixels for p in photos]))
            else:
                vectors = np.zeros((0, 0), np.float32)
            yield Batch(photos, vectors, errors, others)
