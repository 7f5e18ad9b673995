"""Reusable widgets: the photo grid, the zoomable image view, the triplet slots."""
