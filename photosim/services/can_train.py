"""Whether this install can fine-tune (the browsing-only bundle has no torch), asked the same way
by both front ends."""
from __future__ import annotations

import importlib.util

from . import UserError

NO_TORCH = "fine-tuning needs the full install (this build has no torch)"


def training_available() -> bool:
    """Asked without importing torch: that import costs seconds a window should not pay while it opens."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def training_service():
    """The training module (imports torch: call it when training starts); a UserError where this build lacks it."""
    try:
        from . import training
    except ImportError as exc:
        raise UserError(NO_TORCH) from exc
    return training
