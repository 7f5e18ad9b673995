"""Choices a person makes for one library, kept in the library itself.

Kept in the database (not in the window's QSettings) so that the window and the
command line always read the same value: a threshold set in one is the one the
other uses. Each setting is declared once in ``SETTINGS`` with how to parse and
show it; `photosim config` lists and sets them, and the window calls the same
functions.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from ..core.keeper import FORMAT_FAMILIES, RULES, KeeperRules
from ..store.library import Library
from . import UserError

_PREFIX = "setting."


@dataclass(frozen=True)
class Setting:
    key: str
    help: str
    parse: Callable[[str], Any]  # text -> value; raises ValueError with a message a person understands
    default: Any
    show: Callable[[Any], str] = str  # value -> text (what `config` prints and what is stored)


def _unit_interval(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


def _keep_rules(text: str) -> tuple[str, ...]:
    rules = tuple(w.lower() for w in _words(text))
    if not rules:
        raise ValueError(f"name at least one rule of: {', '.join(RULES)}")
    for r in rules:
        if r not in RULES:
            raise ValueError(f"unknown rule {r!r}; rules: {', '.join(RULES)}")
    if len(set(rules)) != len(rules):
        raise ValueError("a rule is named twice")
    return rules


def _keep_date(text: str) -> str:
    if text.strip().lower() not in ("oldest", "newest"):
        raise ValueError("oldest or newest")
    return text.strip().lower()


def _formats(text: str) -> tuple[str, ...]:
    known = set(FORMAT_FAMILIES) | {f.lower() for members in FORMAT_FAMILIES.values() for f in members}
    tokens = tuple(w.lower() for w in _words(text))
    for t in tokens:
        if t not in known:
            raise ValueError(f"unknown format {t!r}; e.g. {', '.join(FORMAT_FAMILIES)}")
    return tokens


def _folders(text: str) -> tuple[str, ...]:
    return tuple(os.path.abspath(os.path.expanduser(f.strip())) for f in text.split(os.pathsep) if f.strip())


_DEFAULT_RULES = KeeperRules()

#: Every setting a library knows. Add an entry here (and nothing else) to make a new one settable
#: from `photosim config` and readable by both front ends.
SETTINGS: dict[str, Setting] = {
    s.key: s for s in (
        Setting("dupes.threshold", "cosine similarity from which two photos are near-duplicate candidates "
                "(unset: calibrated, else the shipped default)", _unit_interval, None, lambda v: f"{v:.4f}"),
        Setting("dupes.keep_rules", "which photo of a duplicate group to keep, rules in order (of: "
                f"{', '.join(RULES)}); derived copies (borders, upscales, greyscale, re-encodes) never win",
                _keep_rules, _DEFAULT_RULES.order, ",".join),
        Setting("dupes.keep_date", "the date rule keeps the oldest or the newest photo", _keep_date, "oldest"),
        Setting("dupes.format_order", "the format rule's preference, best first (raw, heic, png, jpeg, tiff, "
                "webp, or one format such as dng)", _formats, _DEFAULT_RULES.formats, ",".join),
        Setting("dupes.folder_priority", f"the folder rule's folders, best first, separated by '{os.pathsep}'",
                _folders, _DEFAULT_RULES.folders, os.pathsep.join),
        Setting("dupes.name_patterns", "the name rule avoids names matching these patterns (comma-separated, "
                "* and ? wildcards, case-insensitive)", _words, _DEFAULT_RULES.name_patterns, ",".join),
    )
}


def _setting(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        raise UserError(f"unknown setting {key!r}; known: {', '.join(sorted(SETTINGS))}") from None


def get(lib: Library, key: str) -> Any:
    """The value set for ``key``, else its default."""
    setting = _setting(key)
    raw = lib.db.get_meta(_PREFIX + key)
    if raw is None:
        return setting.default
    try:
        return setting.parse(raw)
    except ValueError:  # written by another version: fall back rather than fail every command
        return setting.default


def is_set(lib: Library, key: str) -> bool:
    _setting(key)
    return lib.db.get_meta(_PREFIX + key) is not None


def set_value(lib: Library, key: str, text: str) -> Any:
    """Parse ``text`` and keep it; returns the parsed value. A bad value is a UserError."""
    setting = _setting(key)
    try:
        value = setting.parse(text)
    except ValueError as exc:
        raise UserError(f"bad value for {key}: {text!r} ({exc})") from None
    lib.db.set_meta(_PREFIX + key, setting.show(value))
    return value


def reset(lib: Library, key: str) -> None:
    _setting(key)
    lib.db.delete_meta(_PREFIX + key)


def all_settings(lib: Library) -> list[tuple[Setting, Any, bool]]:
    """(setting, current value, set by the user?) for every setting, in key order."""
    return [(s, get(lib, k), is_set(lib, k)) for k, s in sorted(SETTINGS.items())]
