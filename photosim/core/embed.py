"""Turn photo files into vectors: decoding, inference and the caller's writes all overlap.

Three stages run at once. Decoding runs in a thread pool (libjpeg, the
resampler and the hash all release the GIL). Inference runs in ONNX Runtime
(3-4x faster than eager torch on a laptop CPU; torch is the fallback), as
several single-threaded runs on different batches rather than one run split
across threads: independent batches never wait on each other at a barrier, so
the cores stay busy even when decoding competes for them. The caller
consumes finished batches (SQLite, HNSW) on its own thread while the next
batches are decoded and embedded.

The ONNX graph is exported once from the same torch module and cached per
spec, so both engines give the same vectors. TF-style "same" padding, which
timm computes from the input's shape at run time, is frozen for the fixed
input size and written into each Conv node: a shape-dependent Pad between
convolutions kept ONNX Runtime from running the network in its blocked
(NCHWc) layout and cost over a third of the inference time in layout
conversions.
"""
from __future__ import annotations

import os
import threading
import time
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from .onnx_graph import bundled_onnx_path, export_onnx, onnx_path
from .spec import EmbeddingSpec
from .decode import decode_file
from .types import DecodedPhoto, DecodeError, FileStat

#: Seconds between checks of the cancel flag while waiting on decoders or inference.
POLL_SECONDS = 0.02


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class TorchEngine:
    """Eager torch (channels_last): the fallback, and the reference the ONNX graph must match."""

    name = "torch"
    streams = 1  # torch splits one batch across its own intra-op threads

    def __init__(self, spec: EmbeddingSpec) -> None:
        try:
            import torch
        except ImportError as exc:  # a browsing-only install or bundle: no graph for this spec either
            raise RuntimeError(f"no ONNX graph for embedding {spec.key} and no torch to make one; "
                               "this embedding needs the full install") from exc

        from .backbone import embedder

        self.spec = spec
        self._torch = torch
        self._module = embedder(spec)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images))
            return self._module(x).numpy().astype(np.float32)

    def abort(self) -> None:
        """Torch cannot interrupt a running forward pass; the batch finishes."""


class OnnxEngine:
    """ONNX Runtime on the CPU, safe to call from several threads at once.

    ``threads`` is ONNX Runtime's intra-op thread count per call and
    ``streams`` how many calls :func:`embed_files` runs concurrently; the
    default (one thread, one stream per CPU) keeps every core busy without
    any thread spinning at a barrier while a decoder holds its core.
    """

    name = "onnxruntime"

    def __init__(self, spec: EmbeddingSpec, threads: int = 1, streams: int | None = None) -> None:
        import onnxruntime as ort

        self.spec = spec
        self.threads = max(1, threads)
        self.streams = streams or max(1, cpu_count() // self.threads)
        path = bundled_onnx_path(spec) or onnx_path(spec)
        if not os.path.exists(path):
            export_onnx(spec, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads sleep instead of spinning, leaving their core to the decoders.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._ort = ort
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._running: set = set()
        self._lock = threading.Lock()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        run_options = self._ort.RunOptions()
        with self._lock:
            self._running.add(run_options)
        try:
            return self._session.run(None, {"images": np.ascontiguousarray(images)}, run_options)[0]
        finally:
            with self._lock:
                self._running.discard(run_options)

    def abort(self) -> None:
        """Make every run in progress stop at its next node (it then raises); used on cancel."""
        with self._lock:
            for run_options in self._running:
                run_options.terminate = True


def make_engine(spec: EmbeddingSpec, prefer: str = "onnx"):
    """The fastest engine available; torch when ONNX Runtime is missing or fails."""
    if prefer == "onnx" and os.environ.get("PHOTOSIM_ENGINE", "onnx") != "torch":
        try:
            return OnnxEngine(spec)
        except Exception as exc:  # noqa: BLE001 - any ORT/export failure falls back to torch
            warnings.warn(f"ONNX Runtime unavailable ({exc}); using torch", RuntimeWarning)
            engine = TorchEngine(spec)
            engine.fallback = f"ONNX Runtime failed ({type(exc).__name__}: {exc}); embedding runs on torch, slower"
            return engine
    return TorchEngine(spec)


@dataclass
class Batch:
    photos: list[DecodedPhoto]
    vectors: np.ndarray  # (len(photos), D) float32, unit rows
    errors: list[DecodeError]
    others: list = field(default_factory=list)  # whatever else ``decode`` returned (e.g. moved files)


def embed_files(  # noqa: PLR0913 - each keyword is a separate knob of the pipeline (batching, workers, cancel, hooks)
    files: Iterable[FileStat],
    engine,
    batch_size: int = 32,
    workers: int | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    on_start: Callable[[str], None] | None = None,
    decode: Callable[[FileStat], object] | None = None,
) -> Iterator[Batch]:
    """Decode ``files`` in threads and embed them in batches, yielding batches in input order.

    While the caller handles one batch, later photos are being decoded and
    embedded. When ``cancelled()`` turns true (it is polled every few
    milliseconds), runs in progress are aborted, batches whose vectors were
    already computed are still yielded, and the rest is dropped: whatever was
    yielded is complete. ``on_start(path)`` is called before a file is
    decoded (the store records it, so a crash inside a decoder can be blamed
    on the file). ``decode(stat)`` replaces the plain decoder; results that
    are neither a DecodedPhoto nor a DecodeError are passed through in
    ``Batch.others``.

    Three stages, driven from the caller's thread: decoding (``_Decoding``),
    grouping into batches (``_Batching``) and inference (``_Inference``).
    Each stage bounds what it holds, so a slow consumer holds memory steady.
    """
    size = engine.spec.size
    streams = max(1, int(getattr(engine, "streams", 1)))
    decoding = _Decoding(files, decode or (lambda f: decode_file(f.path, size)), workers or cpu_count(),
                         ahead=batch_size * (streams + 1), on_start=on_start)
    batching = _Batching(batch_size)
    inference = _Inference(engine, streams)
    try:
        decoding.refill()
        while not cancelled():
            if inference.next_ready():
                yield inference.take()
            elif inference.has_room() and decoding.next_ready():
                inference.submit(batching.add(decoding.take()))
            elif decoding.finished() and batching.holding():
                inference.submit(batching.flush())
            elif decoding.finished() and inference.empty():
                return
            else:
                inference.wait_for_any(decoding.next_future() if inference.has_room() else None)
        # Cancelled: what was already embedded is complete and still goes to the caller.
        inference.abort()
        while inference.next_ready(successful=True):
            yield inference.take()
    finally:  # finished, cancelled, abandoned by the caller or failed: the one way out
        inference.close()
        decoding.close()


class _Decoding:
    """Decodes files in a thread pool and hands the results back in input order.

    Keeps: at most ``ahead`` files submitted and not yet taken; ``on_start(path)``
    called for each file before it is submitted, in input order.
    """

    def __init__(self, files: Iterable[FileStat], decode: Callable[[FileStat], object], workers: int,
                 ahead: int, on_start: Callable[[str], None] | None) -> None:
        self._todo = iter(files)
        self._decode = decode
        self._ahead = ahead
        self._on_start = on_start
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode")
        self._running: deque[Future] = deque()  # in input order
        self._exhausted = False

    def refill(self) -> None:
        """Submit files until ``ahead`` are on their way (or none is left)."""
        while not self._exhausted and len(self._running) < self._ahead:
            f = next(self._todo, None)
            if f is None:
                self._exhausted = True
            else:
                if self._on_start:
                    self._on_start(f.path)
                self._running.append(self._pool.submit(self._decode, f))

    def next_ready(self) -> bool:
        return bool(self._running) and self._running[0].done()

    def next_future(self) -> Future | None:
        return self._running[0] if self._running else None

    def take(self) -> object:
        result = self._running.popleft().result()
        self.refill()
        return result

    def finished(self) -> bool:
        return self._exhausted and not self._running

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Pending:
    """A batch on its way: decoded results, and the inference run of its photos (None: no photos)."""

    photos: list[DecodedPhoto] = field(default_factory=list)
    errors: list[DecodeError] = field(default_factory=list)
    others: list = field(default_factory=list)
    run: Future | None = None

    def __len__(self) -> int:
        return len(self.photos) + len(self.errors) + len(self.others)


class _Batching:
    """Groups decode results, in order, into batches of ``size`` results (photos, errors and others
    together). Keeps: fewer than ``size`` results held."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._current = _Pending()

    def add(self, result: object) -> _Pending | None:
        """The batch ``result`` completes, if it does."""
        if isinstance(result, DecodedPhoto):
            self._current.photos.append(result)
        elif isinstance(result, DecodeError):
            self._current.errors.append(result)
        else:
            self._current.others.append(result)
        return self.flush() if len(self._current) >= self._size else None

    def holding(self) -> bool:
        return len(self._current) > 0

    def flush(self) -> _Pending:
        batch, self._current = self._current, _Pending()
        return batch


class _Inference:
    """Embeds batches and hands them back in input order.

    Keeps: at most ``streams`` runs in flight (one engine call per stream), and
    at most ``streams + 1`` batches held, so one batch waits ready to run as
    soon as a stream frees up.
    """

    def __init__(self, engine, streams: int) -> None:
        self._engine = engine
        self._streams = streams
        self._pool = ThreadPoolExecutor(max_workers=streams, thread_name_prefix="infer")
        self._queue: deque[_Pending] = deque()  # in input order

    def has_room(self) -> bool:
        return len(self._queue) <= self._streams

    def empty(self) -> bool:
        return not self._queue

    def submit(self, batch: _Pending | None) -> None:
        if batch is None:
            return
        if batch.photos:
            batch.run = self._pool.submit(self._engine, np.stack([p.pixels for p in batch.photos]))
        self._queue.append(batch)

    def next_ready(self, successful: bool = False) -> bool:
        """The oldest batch is embedded (``successful``: and its run was not aborted)."""
        if not self._queue:
            return False
        run = self._queue[0].run
        return run is None or (run.done() and (not successful or run.exception() is None))

    def take(self) -> Batch:
        batch = self._queue.popleft()
        vectors = batch.run.result() if batch.run is not None else np.zeros((0, 0), np.float32)
        return Batch(batch.photos, vectors, batch.errors, batch.others)

    def wait_for_any(self, other: Future | None) -> None:
        """Until the oldest run or ``other`` finishes, or POLL_SECONDS pass (to check the cancel flag)."""
        futures = [f for f in (self._queue[0].run if self._queue else None, other) if f is not None]
        if futures:
            wait(futures, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
        else:
            time.sleep(POLL_SECONDS)

    def abort(self) -> None:
        """Stop the runs in flight at their next node (they raise; their batches are dropped)."""
        if any(b.run is not None and not b.run.done() for b in self._queue):
            abort = getattr(self._engine, "abort", None)
            if abort is not None:
                abort()

    def close(self) -> None:
        self.abort()
        self._pool.shutdown(wait=True, cancel_futures=True)
