"""Entry point of the bundled app: with no arguments it opens the window, else it is the CLI."""
import sys

from photosim.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["gui"]))
