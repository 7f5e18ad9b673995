"""Build the browsing bundle (packaging/photosim.spec) and print how long it took, how big it is,
and what takes the room. Needs PyInstaller in the development install (torch included: the spec
exports the ONNX graph at build time):

    .venv/bin/pip install -e '.[package]'
    .venv/bin/python packaging/build_bundle.py [--dist /tmp/psdist] [--work /tmp/psbuild]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tree_bytes(path: str) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dist", default="/tmp/psdist")
    ap.add_argument("--work", default="/tmp/psbuild")
    args = ap.parse_args()
    for folder in (args.dist, args.work):
        shutil.rmtree(folder, ignore_errors=True)
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "PyInstaller", os.path.join(ROOT, "packaging", "photosim.spec"),
                    "--noconfirm", "--distpath", args.dist, "--workpath", args.work], check=True, cwd=ROOT)
    seconds = time.monotonic() - start
    bundle = os.path.join(args.dist, "photosim")
    program = os.path.join(bundle, "photosim")
    started = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=120)
    print(f"\nbuilt {bundle} in {seconds:.0f} s; '{program} --version' says: {started.stdout.strip()}")
    total = tree_bytes(bundle)
    print(f"bundle size: {total / 2**20:.0f} MB")
    internal = os.path.join(bundle, "_internal")
    parts = [(tree_bytes(p) if os.path.isdir(p) else os.path.getsize(p), name)
             for name in os.listdir(internal) for p in [os.path.join(internal, name)]]
    for size, name in sorted(parts, reverse=True)[:10]:
        print(f"  {size / 2**20:6.0f} MB  _internal/{name}")
    return started.returncode


if __name__ == "__main__":
    raise SystemExit(main())
