"""Walk photo folders: stat only, no decoding.

Follows symbolic links to folders but remembers every folder it entered by
(device, inode), so a link loop cannot make it hang or list a photo twice.
A dangling link, an unreadable folder or a file that is not a regular file
(a named pipe called .jpg would block a reader forever) is reported, never raised.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from typing import Callable

from .decode import PHOTO_EXTENSIONS
from .types import DecodeError, FileStat


@dataclass
class ScanResult:
    files: list[FileStat] = field(default_factory=list)
    errors: list[DecodeError] = field(default_factory=list)


def is_photo_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in PHOTO_EXTENSIONS


def scan(roots: list[str], cancelled: Callable[[], bool] = lambda: False) -> ScanResult:
    result = ScanResult()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for root in roots:
        root = os.path.abspath(root)
        if os.path.isfile(root):
            _add_file(root, result, seen_files)
            continue
        _walk(root, result, seen_dirs, seen_files, cancelled)
    return result


def _walk(top: str, result: ScanResult, seen_dirs: set, seen_files: set, cancelled) -> None:
    stack = [top]
    while stack:
        if cancelled():
            return
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            result.errors.append(DecodeError(folder, 0, 0, f"cannot open folder: {exc.strerror}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            continue  # a link loop, or the same folder reached twice
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            result.errors.append(DecodeError(folder, 0, 0, f"cannot list folder: {exc.strerror}"))
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and folders (.thumbnails, .Trash) are not the user's photos
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                subdirs.append(entry.path)
            elif is_photo_name(entry.name):
                _add_file(entry.path, result, seen_files)
        stack.extend(reversed(subdirs))


def _add_file(path: str, result: ScanResult, seen_files: set) -> None:
    if path in seen_files:
        return
    seen_files.add(path)
    try:
        st = os.stat(path)
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
    if not stat.S_ISREG(st.st_mode):
        # A named pipe would block the reader forever; a device could be endless.
        result.errors.append(DecodeError(path, st.st_size, st.st_mtime_ns,
                                         "not a regular file (a named pipe, socket or device), skipped"))
        return
    result.files.append(FileStat(path, st.st_size, st.st_mtime_ns))
