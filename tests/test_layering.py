"""The architecture's one rule: nothing below photosim.gui imports PySide6."""
from __future__ import annotations

import subprocess
import sys

from helpers import ROOT

CHECK = """
import sys, importlib, pkgutil
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6" or name.startswith("PySide6."):
            raise ImportError("PySide6 is blocked below photosim.gui")
sys.meta_path.insert(0, Block())
import photosim
for m in pkgutil.walk_packages(photosim.__path__, "photosim."):
    if m.name.startswith("photosim.gui"):
        continue
    importlib.import_module(m.name)
print("ok")
"""


def test_core_store_services_cli_import_without_pyside6():
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")
