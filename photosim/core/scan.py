"""Walk photo folders: stat only, no decoding.

Every file is listed by its real path (core.paths.real_path) and once per file on
disk: a link to a photo of the scanned folders, a folder link inside them and a
hard link are all one photo, listed where it really is (the other names are
returned as ``aliases``). A link that leads out of the folders photosim may read
(``inside``: the scanned roots and the library's folders) is reported and not
followed, so nothing outside them ever becomes a photo of the library that a
removal could move. Folders are remembered by (device, inode), so a link loop
cannot make it hang. ``excluded`` folders (the library's own, with its
quarantine) are never entered. A dangling link, an unreadable folder or a file
that is not a regular file (a named pipe called .jpg would block a reader
forever) is reported, never raised.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from typing import Callable

from .decode import PHOTO_EXTENSIONS
from .paths import real_path, under_any
from .types import DecodeError, FileStat

OUTSIDE = "link leads outside the library's folders (to {}): not followed; index that folder itself to include it"


@dataclass
class ScanResult:
    files: list[FileStat] = field(default_factory=list)
    errors: list[DecodeError] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (another name, the file's real path)


@dataclass
class _Walk:
    result: ScanResult
    inside: list[str]
    excluded: list[str]
    cancelled: Callable[[], bool]
    seen_dirs: set = field(default_factory=set)
    seen_files: dict = field(default_factory=dict)  # (device, inode) -> real path


def is_photo_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in PHOTO_EXTENSIONS


def scan(roots: list[str], cancelled: Callable[[], bool] = lambda: False, inside: list[str] | None = None,
         excluded: list[str] = ()) -> ScanResult:
    """Stat every photo under ``roots`` (folders or files); ``inside``: where links may lead
    (default: the roots themselves)."""
    real_roots = [real_path(r) for r in roots]
    w = _Walk(ScanResult(), [real_path(f) for f in (inside if inside is not None else [])] + real_roots,
              [real_path(f) for f in excluded], cancelled)
    for root in real_roots:
        if os.path.isfile(root):
            _add_file(root, root, w)
            continue
        _walk(root, w)
    return w.result


def _walk(top: str, w: _Walk) -> None:  # noqa: C901 - one pass over a folder: each branch is a kind of entry (file, folder, link, loop, error)
    stack = [top]
    while stack:
        if w.cancelled():
            return
        folder = stack.pop()
        if under_any(folder, w.excluded):
            continue  # the library's own folder: its quarantine and files are never photos
        try:
            st = os.stat(folder)
        except OSError as exc:
            w.result.errors.append(DecodeError(folder, 0, 0, f"cannot open folder: {exc.strerror}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in w.seen_dirs:
            continue  # a link loop, or the same folder reached twice
        w.seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            w.result.errors.append(DecodeError(folder, 0, 0, f"cannot list folder: {exc.strerror}"))
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and folders (.thumbnails, .Trash) are not the user's photos
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_link = entry.is_symlink()
            except OSError:
                is_dir = is_link = False
            if is_dir:
                target = real_path(entry.path) if is_link else entry.path
                if is_link and not under_any(target, w.inside):
                    w.result.errors.append(DecodeError(entry.path, 0, 0, OUTSIDE.format(target)))
                    continue
                subdirs.append(target)
            elif is_photo_name(entry.name):
                _add_file(entry.path, real_path(entry.path) if is_link else entry.path, w)
        stack.extend(reversed(subdirs))


def _add_file(path: str, real: str, w: _Walk) -> None:
    result = w.result
    try:
        st = os.stat(real)
    except OSError as exc:
        if os.path.islink(path):
            if exc.errno == errno.ENOENT:
                reason = "broken link (its target does not exist)"
            elif exc.errno == errno.ELOOP:
                reason = "symbolic link loop (the link leads back to itself)"
            else:
                reason = f"link cannot be followed: {exc.strerror}"
        else:
            reason = f"cannot read the file: {exc.strerror}"
        result.errors.append(DecodeError(path, 0, 0, reason))
        return
    if real != path and not under_any(real, w.inside):
        result.errors.append(DecodeError(path, 0, 0, OUTSIDE.format(real)))
        return
    if not stat.S_ISREG(st.st_mode):
        # A named pipe would block the reader forever; a device could be endless.
        result.errors.append(DecodeError(path, st.st_size, st.st_mtime_ns,
                                         "not a regular file (a named pipe, socket or device), skipped"))
        return
    if real != path:  # a link: the photo is listed under its real path
        result.aliases.append((path, real))
    key = (st.st_dev, st.st_ino)
    first = w.seen_files.get(key)
    if first is not None:  # the same file by another name: a link, or a hard link
        if real == path and path != first:
            result.aliases.append((path, first))
        return
    w.seen_files[key] = real
    result.files.append(FileStat(real, st.st_size, st.st_mtime_ns))
