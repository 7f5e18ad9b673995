"""Shared by the benchmarks: machine conditions, and rewriting one section of a page of docs/.

Each script owns its sections, between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` markers, so the scripts can be rerun independently and
never overwrite each other's figures; the prose around them holds no figure.
"""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SHARED = ROOT.parent / "shared" / "data"
CALTECH = SHARED / "caltech101-20"

_HEADER = """# Benchmarks

Figures written by the scripts in `benchmarks/` (see benchmarks/README.md for how to
rerun them). Each section is rewritten by its own script; the conditions (CPU, load
average during the run) are recorded with the figures, because the development
machine is shared and its load changes from minute to minute. Ratios measured in
the same run, on the same photos, are the figures to compare.
"""


def conditions() -> str:
    """One line: CPU model and count, and the 1/5/15-minute load averages now."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} CPUs, load average {load} (1/5/15 min) at {time.strftime('%Y-%m-%d %H:%M')}"


def write_section(name: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the section ``name`` of ``doc`` (default docs/benchmarks.md) with ``body``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = doc.read_text() if doc.exists() else (_HEADER if doc == DOC else f"# {doc.stem}\n")
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def publish(sections: dict[str, str], doc: Path, write: bool = True) -> None:
    """Print each section and, unless ``write`` is off (``--no-doc``), write it into ``doc``."""
    for name, body in sections.items():
        print(f"\n<!-- {name} -->\n{body}")
        if write:
            write_section(name, body, doc)
    if write:
        print(f"wrote {doc.relative_to(ROOT)} ({', '.join(sections)})")
