"""`python -m photosim.cli`: how the window starts its indexing child outside a bundle."""
import sys

from .main import main

sys.exit(main())
