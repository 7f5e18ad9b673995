"""photosim: find similar and duplicate photos, and learn what "similar" means to you."""

__version__ = "0.1.0"
