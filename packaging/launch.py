"""Entry point of the bundled app: with no arguments it opens the window, else it is the CLI.

The app starts helper processes as ``sys.executable -m photosim.core.safe_decode``
(the crash-contained decoder); in a bundle ``sys.executable`` is this program, so
``-m MODULE`` runs that module as ``python -m`` would. The window's indexer runs
``sys.executable --library ... index`` (see gui/indexer.py), which is the CLI.
"""
import runpy
import sys


def run() -> int:
    argv = sys.argv[1:]
    if len(argv) >= 2 and argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return 0
    from photosim.cli import main

    return main(argv or ["gui"])


if __name__ == "__main__":
    sys.exit(run())
