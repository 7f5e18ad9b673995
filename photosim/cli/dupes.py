"""`photosim dupes`, with --remove-copies (show the plan, ask once, one undo step)."""
from __future__ import annotations

import sys

from ..core.duplicates import DEFAULT_THRESHOLD
from ..services.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from ..services.wording import Mark, human_bytes, marks
from .context import CliContext
from .output import Answer, command, open_library, printable

#: How the command line draws each mark of services/wording.py.
TAGS = {Mark.KEEP: "[keep]", Mark.BEST_SHOT: "[keep]", Mark.KEPT: "[kept]", Mark.PROTECTED: "[protected]",
        Mark.SAME_BYTES: "[same bytes]", Mark.COPY: "[copy]"}


def add(commands) -> None:
    c = command(commands, "dupes", json_help="", help="groups of exact and near duplicates, bursts (best shot first) "
                "and RAW + JPEG pairs, with a suggested keeper and why (moves nothing)")
    c.add_argument("--threshold", type=float, default=None,
                   help="cosine similarity for near-duplicates, for this run only (default: the library's: "
                        "'photosim config dupes.threshold', else calibrated, else %.2f)" % DEFAULT_THRESHOLD)
    c.add_argument("--calibrate", action="store_true",
                   help="set this library's threshold from your decisions (removed duplicates, 'not duplicate' marks)")
    c.add_argument("--csv", metavar="FILE", help="write the groups as CSV (one row per photo; '-': stdout); "
                   "FILE must not exist")
    c.add_argument("--force", action="store_true", help="with --csv: replace FILE if it exists (never a photo "
                   "nor a file of the library or of its photo folders)")
    c.add_argument("--keep-rules", metavar="RULES", default=None,
                   help="which photo to keep, rules in order, saved as this library's (resolution,size,date,format,"
                        "folder,name,sharpness,exif; see 'photosim config')")
    c.add_argument("--remove-copies", action="store_true",
                   help="keep the best of every group and move the rest to the quarantine (asks once; one undo step)")
    c.add_argument("--kind", action="append", choices=("exact", "near", "burst", "raw+jpeg"),
                   help="with --remove-copies: which groups (repeatable; default exact and near: copies only, never "
                        "a burst frame nor a RAW or its JPEG). burst: all but the best shot; raw+jpeg: the file of "
                        "each pair your keeper rules do not prefer (needs a 'format' rule)")
    c.add_argument("--dry-run", action="store_true", help="with --remove-copies: list what would move, move nothing")
    c.add_argument("--yes", action="store_true", help="with --remove-copies: do not ask (for scripts)")
    c.set_defaults(func=dupes)


def dupes(args) -> Answer | int:
    from ..services import settings
    from ..services.calibration import duplicate_threshold
    from ..services.duplicates import find_duplicates

    lib = open_library(args)
    used = duplicate_threshold(lib)
    if args.calibrate:
        return _calibrate(lib, used)
    if args.keep_rules is not None:  # a setting, saved: said so
        rules = settings.set_value(lib, "dupes.keep_rules", args.keep_rules)
        print(f"saved as this library's keeper rules: {', '.join(rules)}", file=sys.stderr)
    if args.threshold is not None:
        note = f"near-duplicate threshold {args.threshold:.4g} for this run only (this library's: {used.describe()})"
    else:
        note = f"near-duplicate threshold {used.describe()}; 'photosim config dupes.threshold VALUE' changes it"
    with CliContext(unit="photo", quiet=True) as ctx:
        groups = find_duplicates(lib, used.value if args.threshold is None else args.threshold, ctx)
    # --json and --csv -: stdout stays pure JSON or CSV
    print(note, file=sys.stderr if args.json or args.csv == "-" else sys.stdout)
    if args.csv:
        _write_csv(lib, groups, args)
    if args.remove_copies:
        return _remove_copies(lib, groups, args)
    if args.csv and not args.json:
        return EXIT_OK
    from ..services.export import groups_as_json

    return Answer(_listing(groups), data=groups_as_json(groups) if args.json else None)


def _calibrate(lib, used) -> Answer:
    from ..services.calibration import SET_BY_YOU, calibrate

    c = calibrate(lib)
    lines = [f"threshold {c.threshold:.3f} from {c.positives} removed duplicates and {c.negatives} 'not duplicate' "
             f"pairs: estimated precision {c.precision:.2f}, recall {c.recall:.2f} (F1 {c.f1:.2f}); now the default "
             "for this library"]
    if used.source == SET_BY_YOU:
        lines.append(f"your own threshold {used.value:.4g} still comes first; "
                     "'photosim config dupes.threshold --reset' uses the calibrated one")
    return Answer(lines)


def _write_csv(lib, groups, args) -> None:
    from ..services.export import write_csv

    if args.csv == "-":
        write_csv(groups, sys.stdout)
        return
    from ..services.outputs import write_output

    n = write_output(lib, args.csv, lambda fh: write_csv(groups, fh), force=args.force)
    print(f"wrote {len(groups)} groups ({n} photos) to {args.csv}", file=sys.stderr)


def _listing(groups) -> list[str]:
    if not groups:
        return ["no duplicates found"]
    lines = []
    for n, g in enumerate(groups, 1):
        # The reason names the keeper; the lines below give every member's path, the keeper first.
        lines.append(f"group {n} ({g.kind}): {g.reason}")
        for p, s in zip(g.photos, g.similarities):
            tags = "".join(" " + TAGS[m] for m in marks(g, p))
            lines.append(f"    {s:.3f}  {printable(p.path)}{tags}")
    from ..services.cleanup import plan_removal

    plan = plan_removal(groups)  # the figure `--remove-copies --dry-run` and the window show: copies only
    lines.append(f"{len(groups)} groups; up to {human_bytes(plan.bytes)} to free by removing {len(plan.photos)} "
                 "copies ('photosim dupes --remove-copies' keeps the best of each, one undo step; --kind burst for "
                 "bursts)")
    return lines


def _remove_copies(lib, groups, args) -> int:
    """Show the plan, ask once (or --yes), move it all as one undo step."""
    from ..services import UserError
    from ..services.cleanup import DEFAULT_KINDS, plan_removal, remove_copies

    kinds = tuple(dict.fromkeys(args.kind)) if args.kind else DEFAULT_KINDS
    plan = plan_removal(groups, kinds)
    for p, why in plan.skipped:
        print(f"skipped: {printable(p.path)} ({why})", file=sys.stderr)
    for g, why in plan.untouched:
        print(f"left alone: the group of {printable(g.keep.path)} ({why})", file=sys.stderr)
    what = f"{len(plan.photos)} photo(s), {human_bytes(plan.bytes)}, from {plan.groups} group(s) ({', '.join(kinds)})"
    if not plan.photos:
        print(f"nothing to remove ({', '.join(kinds)} groups: no copy that is not kept)")
        return EXIT_OK
    if args.dry_run:
        for p in plan.photos:
            print(f"would move: {printable(p.path)}  (keeping {printable(plan.keepers[p.id][0].path)})")
        print(f"would move {what} to the quarantine (dry run: nothing moved)")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(f"nothing moved: {what} would go, and there is no terminal to ask; add --yes to confirm")
        answer = input(f"Move {what} to the quarantine? 'photosim undo' puts them all back. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing moved")
            return EXIT_FAILED
    with CliContext(unit="photo") as ctx:
        result = remove_copies(lib, plan, ctx)
    for path, why in result.skipped:
        print(f"skipped: {printable(path)} ({why})", file=sys.stderr)
    state = "stopped: " if result.cancelled else ""
    print(f"{state}moved {len(result.moved)} photo(s) ({human_bytes(result.bytes)}) to the quarantine in one step; "
          "'photosim undo' puts them all back")
    return EXIT_INTERRUPTED if result.cancelled else EXIT_OK
