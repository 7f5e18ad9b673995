"""Decode suspect files in a child process, so a crashing decoder cannot take the app down.

Native decoders (libjpeg, libpng, libwebp, libheif) can in principle crash or
hang on a hostile file. Running every decode in a child would cost a process
hop per photo, so the indexer keeps decoding in-process and writes which
files are in flight to the library. After a run died, those files are the
suspects: they are decoded here first, one child working through the list.
A file on which the child dies (a signal, an abort) or stalls is reported as
a crashing file; the child is restarted for the rest of the list.

The child imports only the decoder (no torch), so starting one is cheap.
Run as ``python -m photosim.core.safe_decode``: it reads hex-encoded paths,
one per line, from stdin and writes ``start HEX`` / ``done HEX`` lines.
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time

#: Seconds a child may spend on one file before it counts as hung.
FILE_TIMEOUT = 60.0

CRASH_REASON = "the image decoder crashed on this file, so it was skipped (a damaged or hostile file?)"
HANG_REASON = "the image decoder hung on this file (no answer within a minute), so it was skipped"


def default_command() -> list[str]:
    return [sys.executable, "-m", "photosim.core.safe_decode"]


def probe(paths: list[str], command: list[str] | None = None, timeout: float = FILE_TIMEOUT) -> dict[str, str]:
    """Decode ``paths`` in a child; returns {path: reason} for the files that crashed or hung it.

    A file the child decodes, or rejects with an ordinary decode error, is not
    in the result: the caller embeds or reports it the normal way.
    """
    command = command or default_command()
    culprits: dict[str, str] = {}
    todo = list(paths)
    while todo:
        _, culprit, reason = _run_child(command, todo, timeout)
        if culprit is None:
            break
        culprits[culprit] = reason
        todo = todo[todo.index(culprit) + 1:]
    return culprits


def _run_child(command: list[str], paths: list[str], timeout: float) -> tuple[int, str | None, str]:
    """Feed ``paths`` to one child; (files finished, the culprit or None, why)."""
    payload = b"".join(os.fsencode(p).hex().encode() + b"\n" for p in paths)
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(payload)
            child.stdin.close()
        except BrokenPipeError:
            pass
        current: str | None = None
        finished = 0
        buffer = b""
        deadline = time.monotonic() + timeout
        while True:
            wait = deadline - time.monotonic()
            ready, _, _ = select.select([child.stdout], [], [], max(wait, 0.0))
            if not ready:
                child.kill()
                child.wait()
                return finished, current or paths[finished], HANG_REASON
            chunk = os.read(child.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                kind, _, hexpath = line.partition(b" ")
                if kind == b"start":
                    current = os.fsdecode(bytes.fromhex(hexpath.decode()))
                    deadline = time.monotonic() + timeout
                elif kind == b"done":
                    finished += 1
                    current = None
        code = child.wait()
        if code == 0 and finished == len(paths):
            return finished, None, ""
        culprit = current if current is not None else paths[min(finished, len(paths) - 1)]
        return finished, culprit, CRASH_REASON
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _child_main() -> int:
    from .decode import decode_file

    out = sys.stdout.buffer
    lines = sys.stdin.buffer.read().split(b"\n")  # all of it first: the parent writes before it reads
    for line in lines:
        hexpath = line.strip()
        if not hexpath:
            continue
        out.write(b"start " + hexpath + b"\n")
        out.flush()
        decode_file(os.fsdecode(bytes.fromhex(hexpath.decode())))
        out.write(b"done " + hexpath + b"\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
