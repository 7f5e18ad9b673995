"""What services cache belongs to each Library (core/memo.py) and holds when threads meet: the
window's workers search while the person switches versions and an adaptation is removed."""
from __future__ import annotations

import threading

import numpy as np

from photosim.core.memo import Memo
from photosim.core.types import DecodedPhoto, SimpleContext
from photosim.services.adaptation import adapt
from photosim.services.models import expansion, forget_model, use_model
from photosim.services.shown_similarity import scale
from photosim.services.similar import similar
from photosim.store import repositories as repo
from photosim.store.library import Library

N, DIM = 400, 48


def _fill(lib: Library, rng: np.random.Generator) -> list[str]:
    """N photos in 20 groups of random unit vectors (no files: similar reads a library photo's vector)."""
    centres = rng.standard_normal((20, DIM))
    vectors = (centres[np.arange(N) % 20] + 0.6 * rng.standard_normal((N, DIM))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    paths = [f"/synthetic/{i:04d}.jpg" for i in range(N)]
    rows = [DecodedPhoto(path=p, size=1000 + i, mtime_ns=i, content_hash=f"{i:032x}",
                         pixels=np.zeros((1, 1, 3), np.uint8), width=640, height=480, format="JPEG")
            for i, p in enumerate(paths)]
    with lib.db.session() as s:
        repo.put_vectors(s, 0, repo.upsert_decoded_many(s, rows), vectors)
    return paths


def test_a_value_is_made_once_however_many_threads_ask():
    memo, made, start = Memo(), [], threading.Barrier(8)

    def make():
        made.append(1)
        return object()

    def ask(out: list) -> None:
        start.wait()
        out.append(memo.get("key", make))

    outs: list = []
    threads = [threading.Thread(target=ask, args=(outs,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len({id(o) for o in outs}) == 1
    memo.forget(lambda k: k == "key")
    assert "key" not in memo


def test_two_libraries_in_one_process_share_no_cache(tmp_path):
    rng = np.random.default_rng(1)
    a, b = Library(str(tmp_path / "a")), Library(str(tmp_path / "b"))
    try:
        _fill(a, rng), _fill(b, rng)
        ma, mb = adapt(a, SimpleContext()).model, adapt(b, SimpleContext()).model
        assert ma == mb  # the same version id in both libraries...
        assert expansion(a, ma) is not expansion(b, mb)  # ...is two projections, one each
        assert not np.allclose(expansion(a, ma).mean, expansion(b, mb).mean)
    finally:
        a.close()
        b.close()


def test_searches_switching_and_forgetting_at_once_raise_nothing(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    try:
        paths = _fill(lib, np.random.default_rng(0))
        adapted = adapt(lib, SimpleContext()).model
        stop, errors, answers = threading.Event(), [], []

        def guard(work):
            def run():
                try:
                    while not stop.is_set():
                        work()
                except Exception as exc:  # noqa: BLE001 - every failure is what this test looks for
                    errors.append(exc)
                    stop.set()
            return threading.Thread(target=run)

        def search(seed: int):
            rng = np.random.default_rng(seed)
            return lambda: answers.append(len(similar(lib, paths[rng.integers(N)], k=10)))

        switching = iter(range(10 ** 9))
        threads = [guard(search(n)) for n in range(4)]
        threads.append(guard(lambda: use_model(lib, adapted if next(switching) % 2 else 0)))
        threads.append(guard(lambda: (forget_model(lib, adapted), expansion(lib, adapted), scale(lib, adapted))))
        for t in threads:
            t.start()
        timer = threading.Timer(8.0, stop.set)
        timer.start()
        for t in threads:
            t.join(60)
        timer.cancel()
        assert not errors, repr(errors[0])
        assert len(answers) > 20 and set(answers) == {10}, (len(answers), set(answers))
    finally:
        lib.close()
