"""`similar` on a library where most of a photo's nearest neighbours are offline: it looks further and
still answers with k readable photos, the same ones an exact search over the readable photos finds."""
from __future__ import annotations

import shutil

import numpy as np
from PIL import Image

from photosim.core.types import PhotoState
from photosim.services.indexing import index_folders
from photosim.services.similar import query_vectors, similar
from photosim.store import repositories as repo

from support.helpers import Recorder, copy_photos


def test_many_offline_photos_among_the_nearest_still_give_k_results(tmp_path, library, engine, caltech):
    home = copy_photos(tmp_path / "home", classes=("accordion", "camera", "pizza"), per_class=6)
    source = sorted((caltech / "pizza").iterdir())[10]  # not one of the six at home
    drive = tmp_path / "drive"
    drive.mkdir()
    with Image.open(source) as im:  # 40 edits of one photo: all nearer to it than anything at home
        im = im.convert("RGB")
        for n in range(40):
            edit = im.rotate(n * 0.5 - 10, expand=False).crop((n % 5, n % 7, im.width - n % 3, im.height - n % 4))
            edit.save(drive / f"edit_{n:02d}.jpg", quality=80 + n % 15)
    index_folders(library, [str(home), str(drive)], Recorder(), engine=engine)
    shutil.rmtree(drive)  # the drive is unplugged: its 40 photos stay in the library, offline
    report = index_folders(library, [], Recorder(), engine=engine)
    assert report.offline_folders == [str(drive)]

    query = tmp_path / "query.jpg"  # a photo outside the library, like the ones on the drive
    with Image.open(source) as im:
        im.convert("RGB").rotate(3).save(query, quality=85)
    found = similar(library, str(query), k=5)

    assert len(found) == 5
    assert all(n.photo.state == PhotoState.OK and str(drive) not in n.photo.path for n in found)
    vector = query_vectors(library, [str(query)], library.active_model)[0].vector
    with library.db.session() as s:
        readable = {p.id for p in repo.all_photos(s, [PhotoState.OK])}
        offline = {p.id for p in repo.all_photos(s, [PhotoState.MISSING])}
        ids, vectors = repo.get_vectors(s, library.active_model)
    assert len(offline) == 40
    sims = vectors @ vector
    nearest = [int(i) for i in ids[np.argsort(-sims)]]
    assert set(nearest[:40]) == offline  # the 40 nearest are all offline: the first look finds nothing
    exact = [i for i in nearest if i in readable][:5]
    assert [n.photo.id for n in found] == exact
    by_id = {int(i): float(x) for i, x in zip(ids, sims)}
    assert all(abs(n.cosine - by_id[n.photo.id]) < 1e-4 for n in found)
