"""Files photosim writes for the person (`export`, `dupes --csv`): never over anything.

An output goes to a path that does not exist yet. ``force`` replaces a file that
is there, except what is never replaced: a photo of the library (or a file of
a photo folder), the library's own files and anything in a quarantine. It is
written to a temporary file in the target's folder and then put in place: with
a hard link, which fails if a file appeared at the path meanwhile, so even a
race never replaces anything; a replace only with ``force``.
"""
from __future__ import annotations

import os
import tempfile
from typing import Callable, IO

from ..core.paths import in_quarantine, is_under, real_path, under_any
from ..store import repositories as repo
from ..store.library import Library
from . import UserError


def check_output(lib: Library, path: str, force: bool = False) -> str:
    """The real path an output may be written to; a UserError says why not."""
    out = real_path(path)
    if os.path.isdir(out):
        raise UserError(f"{path} is a folder: name a file to write")
    folder = os.path.dirname(out)
    if not os.path.isdir(folder):
        raise UserError(f"no such folder: {folder}")
    if in_quarantine(out):
        raise UserError(f"refusing to write {path}: it is in photosim's quarantine")
    if is_under(out, real_path(lib.directory)):
        raise UserError(f"refusing to write {path}: it is inside the library's own folder {lib.directory}")
    if not os.path.lexists(out) and not os.path.lexists(path):
        return out
    with lib.db.session() as s:
        is_photo = repo.photo_by_path(s, out) is not None
        folders = [real_path(f) for f in repo.list_folders(s)]
    if is_photo or under_any(out, folders):
        raise UserError(f"refusing to write over {path}: it is "
                        + ("a photo of the library" if is_photo else "a file in one of the library's photo folders")
                        + "; photosim never replaces those (choose another name)")
    if not force:
        raise UserError(f"{path} already exists: photosim does not write over files (choose another name, "
                        "or add --force to replace it)")
    return out


def write_output(lib: Library, path: str, write: Callable[[IO], object], force: bool = False,
                 binary: bool = False) -> object:
    """Check ``path`` (see check_output), write it through ``write(fh)``, put it in place; returns
    what ``write`` returned."""
    out = check_output(lib, path, force)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(out), prefix=".photosim-", suffix=".part")
    try:
        with (os.fdopen(fd, "wb") if binary else
              os.fdopen(fd, "w", newline="", encoding="utf-8", errors="surrogateescape")) as fh:
            result = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _put_in_place(tmp, out, force)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return result


def _put_in_place(tmp: str, out: str, force: bool) -> None:
    try:
        os.link(tmp, out)  # fails if anything appeared at ``out`` since the check
    except FileExistsError:
        if not force:
            raise UserError(f"{out} appeared while writing: nothing was replaced") from None
        os.replace(tmp, out)
        return
    except OSError:  # no hard links on this volume: a replace, after checking again
        if os.path.lexists(out) and not force:
            raise UserError(f"{out} appeared while writing: nothing was replaced") from None
        os.replace(tmp, out)
        return
    os.unlink(tmp)
