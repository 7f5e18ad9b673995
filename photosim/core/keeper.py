"""Which photo of a duplicate group to keep: the person's ordered rules, under guards.

Rules are what a person chooses and orders (largest resolution, oldest date,
RAW over JPEG, this folder over that one, ...). Guards are facts measured
against the rest of the group that make a member a *derived* copy: an added
border, an upscale (more pixels, no more detail), a greyscale copy of a colour
photo, a later copy re-encoded at clearly lower quality. A rule never makes a
derived copy the keeper while an underived member exists — "largest resolution"
would otherwise keep the upscaled copy — and when a guard changed what the rules
alone would have chosen, the reason says so.

Nothing here reads a file: ``upscaled`` (which needs the pixels) is measured by
the caller.
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import numpy as np

from .bursts import exposure_offsets, shot_key, why_not_best
from .paths import is_under
from .raw import RAW_FORMATS
from .types import Photo

#: Share of the height or of the group's detail that counts as a real difference.
BORDER_TOLERANCE = 0.03
UPSCALE_DETAIL_RATIO = 0.7
#: A copy can be an upscaled one only with at least this many times another copy's pixels: smaller
#: differences are resampling noise, and the check reads every member of a group at full size.
UPSCALE_PIXEL_RATIO = 1.4
#: A later copy whose JPEG quality is this much lower than an older copy's was re-encoded (a messenger,
#: a web upload). A later copy at *higher* quality is an export, which cannot add detail: not a sign.
QUALITY_STEP = 15
#: "Fuller EXIF" means this many more tags: an editor that writes only Orientation or a resolution
#: has not made a richer file.
EXIF_STEP = 3

#: Format families a preference list may name (also any single format or extension: "dng", "webp").
FORMAT_FAMILIES: dict[str, frozenset[str]] = {
    "raw": frozenset(RAW_FORMATS.values()),  # every format LibRaw reads (core/raw.py)
    "heic": frozenset({"HEIC", "HEIF", "HIF", "AVIF"}),
    "jpeg": frozenset({"JPEG", "JPG", "JPE", "MPO"}),
    "png": frozenset({"PNG"}),
    "tiff": frozenset({"TIFF", "TIF"}),
    "webp": frozenset({"WEBP"}),
    "gif": frozenset({"GIF"}),
    "bmp": frozenset({"BMP"}),
}


# ---- the guards: facts measured against the rest of the group --------------------------------

def _pixels(p: Photo) -> int:
    return (p.width or 0) * (p.height or 0)


def added_border(p: Photo, other: Photo) -> bool:
    """True if ``p`` is ``other`` with flat bands added at top and bottom (a letterbox or frame).

    Judged against another copy, never alone: plenty of originals (a product
    on white) have flat rows at their edges. At the same width, ``p`` must be
    taller than ``other`` by at least BORDER_TOLERANCE of its height, and that
    extra height must be flat rows (``border`` is the flat-row fraction the
    decoder measured).
    """
    if not (p.width and p.height and other.width and other.height):
        return False
    scale = p.width / other.width
    extra = p.height - other.height * scale
    extra_flat = p.border * p.height - other.border * other.height * scale
    tolerance = BORDER_TOLERANCE * p.height
    return extra >= tolerance and abs(extra_flat - extra) <= tolerance


@dataclass(frozen=True)
class KeeperFacts:
    """What the keeper choice knows about one member, measured against the rest of its group."""

    bordered: bool      # has bands another copy has not
    upscaled: bool      # more pixels than another copy, but not more detail
    grey_copy: bool     # greyscale while another copy is in colour
    recompressed: bool  # a later copy with clearly lower JPEG quality than an older one at least as large
    less_exif: bool     # clearly fewer EXIF tags than the fullest copy
    exposure_off: float | None = None  # stops from the group's middle exposure if badly exposed (bursts.py)

    @property
    def derived(self) -> bool:
        return self.bordered or self.upscaled or self.grey_copy or self.recompressed

    @property
    def guards(self) -> tuple[bool, bool, bool, bool]:
        return (self.bordered, self.upscaled, self.grey_copy, self.recompressed)


def keeper_facts(p: Photo, group: list[Photo], upscaled: set[int] = frozenset(),
                 offsets: dict[int, float | None] | None = None) -> KeeperFacts:
    """``offsets``: bursts.exposure_offsets of the group, if already known."""
    others = [q for q in group if q.id != p.id]
    offsets = offsets if offsets is not None else exposure_offsets(group)
    return KeeperFacts(
        bordered=any(added_border(p, q) for q in others),
        upscaled=p.id in upscaled,
        grey_copy=p.grey and any(not q.grey for q in others),
        # Only against a copy with at least as many pixels: a re-encode cannot gain pixels, so a
        # larger photo at lower quality is not this copy's source.
        recompressed=p.jpeg_quality is not None and any(
            q.jpeg_quality is not None and q.jpeg_quality >= p.jpeg_quality + QUALITY_STEP
            and q.mtime_ns <= p.mtime_ns and _pixels(q) >= _pixels(p)
            for q in others),
        less_exif=p.exif_tags + EXIF_STEP <= max(q.exif_tags for q in group),
        exposure_off=offsets.get(p.id),
    )


def guard_text(p: Photo, f: KeeperFacts) -> str | None:
    """The first guard that makes ``p`` a derived copy, in words (None: not derived)."""
    if f.bordered:
        return "has an added border"
    if f.upscaled:
        return f"is an upscaled copy ({p.width}×{p.height}, no more detail)"
    if f.grey_copy:
        return "is a greyscale copy"
    if f.recompressed:
        return f"is a later, more compressed copy (JPEG quality ≈{p.jpeg_quality})"
    return None


def guard_name(f: KeeperFacts) -> str | None:
    """The name of the first guard that applies (the one guard_text describes)."""
    return next((name for name, on in zip(("border", "upscale", "greyscale", "recompression"), f.guards) if on),
                None)


# ---- the rules a person orders ---------------------------------------------------------------

@dataclass(frozen=True)
class KeeperRules:
    """The ordered rules and their parameters (the library keeps them: services/settings.py)."""

    order: tuple[str, ...] = ("resolution", "exif", "name", "date")
    newest: bool = False                       # date: keep the newest instead of the oldest
    formats: tuple[str, ...] = ("raw", "heic", "png", "jpeg")  # format preference, best first
    folders: tuple[str, ...] = ()              # folder priority, best first
    name_patterns: tuple[str, ...] = ("*copy*", "*kopie*", "*([0-9])", "*([0-9][0-9])", "* [0-9]")

    def __post_init__(self) -> None:
        unknown = [r for r in self.order if r not in RULES]
        if unknown:
            raise ValueError(f"unknown keeper rule {unknown[0]!r}; known: {', '.join(RULES)}")


def format_family(p: Photo) -> str:
    """The family of ``p``'s format ("raw", "heic", "jpeg", ...), by extension first (a RAW file may
    be decoded through its embedded JPEG preview), else by the decoder's format name."""
    ext = os.path.splitext(p.path)[1].lstrip(".").upper()
    for name in (ext, (p.format or "").upper()):
        for family, members in FORMAT_FAMILIES.items():
            if name in members:
                return family
    return (p.format or ext or "?").lower()


def _format_rank(p: Photo, rules: KeeperRules) -> int:
    ext = os.path.splitext(p.path)[1].lstrip(".").lower()
    names = {format_family(p), ext, (p.format or "").lower()}
    return next((n for n, token in enumerate(rules.formats) if token.lower() in names), len(rules.formats))


def _folder_rank(p: Photo, rules: KeeperRules) -> int:
    return next((n for n, f in enumerate(rules.folders) if is_under(p.path, f)), len(rules.folders))


def copy_like_name(p: Photo, rules: KeeperRules) -> bool:
    stem = os.path.splitext(os.path.basename(p.path))[0].lower()
    return any(fnmatch.fnmatchcase(stem, pattern.lower()) for pattern in rules.name_patterns)


def _seconds(p: Photo) -> float:
    """When the photo was taken (EXIF), else its file's time, as seconds: comparable either way."""
    if p.taken_at:
        try:
            return datetime.fromisoformat(p.taken_at).timestamp()
        except (ValueError, OverflowError, OSError):
            pass
    return p.mtime_ns / 1e9


def _kb(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


@dataclass(frozen=True)
class Rule:
    """One rule: a sort key (lower is better) and the words for a member that loses by it."""

    name: str
    help: str
    key: Callable[[Photo, KeeperRules, KeeperFacts], Any]
    loses: Callable[[Photo, Photo, KeeperRules, KeeperFacts], str]  # (member, keeper, rules, its facts) -> why


def _loses_date(p: Photo, keep: Photo, rules: KeeperRules, f: KeeperFacts) -> str:
    return "is older" if rules.newest else "is newer"


def _loses_format(p: Photo, keep: Photo, rules: KeeperRules, f: KeeperFacts) -> str:
    return f"is {format_family(p).upper()} ({format_family(keep).upper()} is preferred)"


def _loses_folder(p: Photo, keep: Photo, rules: KeeperRules, f: KeeperFacts) -> str:
    return "is outside the priority folders" if _folder_rank(p, rules) == len(rules.folders) else \
        "is in a lower-priority folder"


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("resolution", "most pixels", lambda p, r, f: -_pixels(p),
         lambda p, k, r, f: f"is smaller ({p.width}×{p.height})"),
    Rule("size", "largest file", lambda p, r, f: -p.size, lambda p, k, r, f: f"is a smaller file ({_kb(p.size)})"),
    Rule("date", "oldest (or newest) date taken, else file date",
         lambda p, r, f: (-_seconds(p), -p.mtime_ns) if r.newest else (_seconds(p), p.mtime_ns), _loses_date),
    Rule("format", "format preference (e.g. raw,heic,png,jpeg)", lambda p, r, f: _format_rank(p, r), _loses_format),
    Rule("folder", "folder priority (a list of folders)", lambda p, r, f: _folder_rank(p, r), _loses_folder),
    Rule("name", "a name without 'copy', '(1)' ...", lambda p, r, f: copy_like_name(p, r),
         lambda p, k, r, f: "has a copy-like name"),
    # The best-shot measure of bursts (core/bursts.py, measured at indexing): sharpest of the photos
    # exposed like the rest of the group; unmeasured photos tie last.
    Rule("sharpness", "sharpest of the well-exposed (measured at indexing)",
         lambda p, r, f: shot_key(p, f.exposure_off), lambda p, k, r, f: why_not_best(p, f.exposure_off)),
    Rule("exif", "fullest EXIF", lambda p, r, f: f.less_exif,
         lambda p, k, r, f: f"has less EXIF ({p.exif_tags} tags against {k.exif_tags})"),
)}


# ---- ranking ---------------------------------------------------------------------------------

@dataclass
class Ranking:
    """Members best first, with the words: which rule decided, which guard applied, and why each
    member after the keeper(s) is not kept."""

    photos: list[Photo]
    reason: str
    decided_by: str              # a rule name, "the <name> guard", "the older file", "the order found", "" (nothing)
    guards: list[str] = field(default_factory=list)   # guards that overrode the rules, in words
    notes: dict[int, str] = field(default_factory=dict)  # photo id -> why it is not kept


def rank(photos: list[Photo], rules: KeeperRules = KeeperRules(), upscaled: set[int] = frozenset(),
         keep_count: int = 1, guarded: bool = True) -> Ranking:
    """Order ``photos`` best first: underived before derived (the guards), then the rules in order,
    then the oldest file. The first ``keep_count`` are the ones to keep. ``guarded=False``: the
    photos are not copies of each other (frames of a burst), so no guard applies."""
    offsets = exposure_offsets(photos)
    facts = {p.id: keeper_facts(p, photos, upscaled, offsets) for p in photos}
    if not guarded:
        facts = {i: KeeperFacts(False, False, False, False, f.less_exif, f.exposure_off) for i, f in facts.items()}

    def rule_key(p: Photo) -> tuple:
        return tuple(RULES[name].key(p, rules, facts[p.id]) for name in rules.order)

    def full_key(p: Photo) -> tuple:
        return (facts[p.id].guards, rule_key(p), p.mtime_ns, p.id)

    ranked = sorted(photos, key=full_key)
    keep_count = max(1, min(keep_count, len(ranked)))
    keepers, rest = ranked[:keep_count], ranked[keep_count:]
    names = ", ".join(os.path.basename(p.path) for p in keepers)
    if not rest:
        return Ranking(ranked, "only copy" if len(ranked) == 1 else f"keep {names}: all kept", "")
    keep = keepers[0]
    notes = {p.id: _why_not(p, keep, facts, rule_key, rules) for p in rest}
    decided_by = _deciding_rule(keep, rest[0], facts, rule_key, rules)
    guards, told = [], set()
    by_rules = min(photos, key=lambda p: (rule_key(p), p.mtime_ns, p.id))
    if by_rules.id not in {k.id for k in keepers} and facts[by_rules.id].derived:
        rule = _first_difference(by_rules, keep, rule_key, rules) or "the rules"
        guards.append(f"{os.path.basename(by_rules.path)} {guard_text(by_rules, facts[by_rules.id])}, "
                      f"so it is not kept though {rule} preferred it")
        told.add(by_rules.id)  # its note is the guard's words: said once, in the head
        guard = f"the {guard_name(facts[by_rules.id])} guard"
        # One sentence: the rule that decided and the guard that applied (or the guard alone, if it decided).
        if decided_by.endswith(" guard"):  # a guard decided: the one that set aside the rules' choice
            decided_by = guard
            head = f"keep {names} (decided by {guard}: {guards[0]})"
        else:
            head = f"keep {names} (decided by {decided_by}, after {guard}: {guards[0]})"
    else:
        head = f"keep {names} (decided by {decided_by})"
    tail = "; ".join(f"{os.path.basename(p.path)} {notes[p.id]}" for p in rest if p.id not in told)
    return Ranking(ranked, head + (": " + tail if tail else ""), decided_by, guards, notes)


def _first_difference(a: Photo, b: Photo, rule_key, rules: KeeperRules) -> str | None:
    """The first rule (in the person's order) on which ``a`` and ``b`` differ."""
    for name, x, y in zip(rules.order, rule_key(a), rule_key(b)):
        if x != y:
            return name
    return None


def _deciding_rule(keep: Photo, other: Photo, facts: dict[int, KeeperFacts], rule_key, rules: KeeperRules) -> str:
    """Why ``keep`` comes before ``other``: the rule it wins by, else a guard, else a tie."""
    if rule_key(keep) < rule_key(other):
        return _first_difference(keep, other, rule_key, rules) or "the order found"
    if facts[other.id].guards > facts[keep.id].guards:
        return f"the {guard_name(facts[other.id])} guard"
    return "the older file" if keep.mtime_ns < other.mtime_ns else "the order found"


def _why_not(p: Photo, keep: Photo, facts: dict[int, KeeperFacts], rule_key, rules: KeeperRules) -> str:
    """Why ``p`` comes after the keeper, in words: its guard, else the first rule it loses by."""
    f, kf = facts[p.id], facts[keep.id]
    if f.derived and f.guards > kf.guards:
        return guard_text(p, f) or "is a derived copy"
    rule = _first_difference(p, keep, rule_key, rules)
    if rule is not None:
        return RULES[rule].loses(p, keep, rules, f)
    if p.mtime_ns > keep.mtime_ns:
        return "is the same by every rule (kept the older file)"
    return "is the same by every rule (kept the first found)"


def choose_keeper(photos: list[Photo], upscaled: set[int] = frozenset(),
                  rules: KeeperRules = KeeperRules()) -> tuple[list[Photo], str]:
    """Photos ordered keeper first, and a sentence saying why the first one is kept."""
    r = rank(photos, rules, upscaled)
    return r.photos, r.reason


# ---- the upscale measurement (the caller reads the pixels) -----------------------------------

def detail_ratio(grey: np.ndarray) -> float:
    """Detail in the finest octave relative to the next one (about 0.6–1.3 for a photo at its own size).

    Upscaling adds pixels but no detail, so an upscaled copy's finest octave
    is nearly empty: a 2× bicubic enlargement measures about half of its
    source (benchmarked on the shared photos in docs/duplicates.md).
    """
    g = np.asarray(grey, np.float32)

    def octave(a: np.ndarray) -> tuple[float, np.ndarray]:
        h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
        a = a[:h, :w]
        half = a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return float(np.abs(a - np.repeat(np.repeat(half, 2, 0), 2, 1)).mean()), half

    if min(g.shape[:2]) < 8:
        return 1.0
    fine, half = octave(g)
    coarse, _ = octave(half)
    return fine / max(coarse, 1e-6)


def upscaled_members(group: list[Photo], detail: dict[int, float]) -> set[int]:
    """Ids of members with clearly more pixels than another member but clearly less fine detail."""
    out = set()
    for p in group:
        for q in group:
            if (p.id in detail and q.id in detail and _pixels(p) >= UPSCALE_PIXEL_RATIO * _pixels(q)
                    and detail[p.id] < UPSCALE_DETAIL_RATIO * detail[q.id]):
                out.add(p.id)
    return out
