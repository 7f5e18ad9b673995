"""The command line: every use case, headless. Thin: parsing, printing, Ctrl-C.

No traceback reaches the user: known problems print one line; anything
unexpected prints one line too and leaves the traceback in a log file.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
import traceback

from . import __version__


class CliContext:
    """TaskContext over a tqdm bar; the first Ctrl-C asks the work to stop, a second one aborts."""

    def __init__(self, unit: str = "photo", quiet: bool = False) -> None:
        self._stop = threading.Event()
        self._bar = None
        self._unit = unit
        self._quiet = quiet
        self._previous = None
        self.stop_requested_at: float | None = None

    def __enter__(self) -> "CliContext":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum, frame) -> None:
        if self._stop.is_set():
            raise KeyboardInterrupt
        self._stop.set()
        self.stop_requested_at = time.monotonic()
        print("\nstopping… (keeping everything finished so far; Ctrl-C again to abort)", file=sys.stderr)

    def cancelled(self) -> bool:
        return self._stop.is_set()

    def say(self, text: str) -> None:
        """A line for the person (e.g. that this run waits for another photosim)."""
        print(f"photosim: {text} (Ctrl-C stops waiting)", file=sys.stderr)

    def progress(self, done: int, total: int, text: str = "") -> None:
        if self._quiet or total <= 0:
            return
        if self._bar is None or self._bar.total != total or done < self._bar.n:  # a new count (a new step)
            from tqdm import tqdm

            if self._bar is not None:
                self._bar.close()
            self._bar = tqdm(total=total, unit=self._unit, desc=text, dynamic_ncols=True, file=sys.stderr)
        self._bar.set_description(text)
        self._bar.update(done - self._bar.n)


def _library(args):
    from .services.library import open_library

    lib = open_library(args.library)
    r = lib.recovery
    if r.any:  # a removal or undo was killed half way: say how it was settled
        print(f"photosim: an interrupted removal was settled: {r.finished + r.restored} move(s) finished, "
              f"{r.rolled_back + r.reverted} rolled back" + (f", {r.gone} file(s) no longer found" if r.gone else ""),
              file=sys.stderr)
    return lib


def _print_json(obj) -> None:
    """UTF-8 JSON; a path byte that is not UTF-8 (a surrogate escape) is written as a \\udcXX
    escape, so the output is valid JSON whatever the locale and os.fsencode gives the exact name back."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.flush()


def _size(n: float) -> str:
    """Bytes as the window shows them (gui/models/photo_list.human_bytes): 0 B, 12.3 KB, 4.5 MB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _shown(path: str) -> str:
    """A path as text a terminal can show, even if its bytes are not UTF-8."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


# --- commands ---------------------------------------------------------------------------
class JsonProgressContext(CliContext):
    """CliContext that writes one JSON line per update instead of a bar, for a parent process
    (the desktop app indexes in a child so its window never waits for this work)."""

    def __init__(self, path: str) -> None:
        super().__init__(quiet=True)
        # "x": a progress file never replaces anything that is there
        self._out = sys.stdout if path == "-" else open(path, "x", encoding="utf-8")

    def emit(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()

    def progress(self, done: int, total: int, text: str = "") -> None:
        from .services.index_events import progress_line

        self.emit(progress_line(done, total, text))

    def say(self, text: str) -> None:
        self.progress(0, 0, text)

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        if self._out is not sys.stdout:
            self._out.close()


def cmd_index(args) -> int:
    from .services.folders import OFFLINE
    from .services.index_events import adapted_line, done_line
    from .services.indexing import index_folders

    lib = _library(args)
    if args.progress_json:
        with JsonProgressContext(args.progress_json) as jctx:
            r = index_folders(lib, args.paths, jctx, batch_size=args.batch_size, retry_errors=args.retry_errors)
            adapted = _adapt_after_index(lib, jctx, r, args)
            if adapted is not None:
                jctx.emit(adapted_line(adapted))
            jctx.emit(done_line(r))
        if args.progress_json == "-":
            return 130 if r.cancelled else 0
    else:
        with CliContext(quiet=args.quiet) as ctx:
            r = index_folders(lib, args.paths, ctx, batch_size=args.batch_size, retry_errors=args.retry_errors)
            adapted = _adapt_after_index(lib, ctx, r, args)
    state = "stopped" if r.cancelled else "done"
    print(f"{state}: {r.scanned} files found, {r.embedded} embedded ({r.rate:.1f} photos/s), "
          f"{r.unchanged} unchanged, {r.moved} moved, {r.failed} unreadable, {r.missing} newly missing")
    if r.aliases:
        print(f"{r.aliases} other name(s) (links, hard links) of photos listed once, at their real place")
    for folder in r.offline_folders:
        print(f"{OFFLINE}: {_shown(folder)}")
    if r.failed:
        print("see the unreadable ones with: photosim info --errors")
    if adapted is not None:
        print(f"adapted to this library's {adapted.photos} photos (model {adapted.model}, {adapted.dim} dimensions, "
              f"{adapted.seconds:.1f} s); 'photosim models use {adapted.parent}' goes back")
    return 130 if r.cancelled else 0


def _adapt_after_index(lib, ctx, report, args):
    """The library adapts itself after indexing when it is due (services/adaptation.py); a cancel
    of the adaptation counts as a stopped run, and the library keeps the version it had."""
    from .services.adaptation import adapt_if_due

    if report.cancelled or args.no_adapt:
        return None
    adapted = adapt_if_due(lib, ctx)
    report.cancelled = ctx.cancelled()
    return adapted


def _similar_json(found) -> list[dict]:
    """A result's path, its raw cosine ("similarity", as scripts always read it) and the number the text
    output shows ("score": the same for plain versions, placed among the library's own best matches
    for adapted ones); a result that stands for several copies lists the others."""
    def entry(n) -> dict:
        return {"path": n.photo.path, "similarity": round(n.similarity, 4), "score": round(n.score, 4)}

    return [{**entry(n), **({"copies": [entry(c) for c in n.copies]} if n.copies else {})} for n in found]


def _similar_lines(answer, indent: str = "") -> list[str]:
    lines = []
    for n in answer.results:
        more = f"  ({len(n.copies) + 1} copies)" if n.copies else ""
        lines.append(f"{indent}{n.score:.3f}  {_shown(n.photo.path)}{more}")
    if answer.query_copies:
        lines.append(f"{indent}(the query has {len(answer.query_copies)} other "
                     f"cop{'y' if len(answer.query_copies) == 1 else 'ies'} in the library, left out; --all-copies lists them)")
    return lines


def _queries(args) -> list[str]:
    """The query paths: on the command line, then those of --from (one a line; '-': standard input)."""
    queries = list(args.photos)
    if args.from_file:  # read as bytes: a file name need not be valid UTF-8
        with (contextlib.nullcontext(sys.stdin.buffer) if args.from_file == "-" else open(args.from_file, "rb")) as fh:
            queries += [os.fsdecode(line.rstrip(b"\r\n")) for line in fh if line.strip()]
    return queries


def cmd_similar(args) -> int:
    from .services import UserError
    from .services.similar import similar_many

    queries = _queries(args)
    if not queries:
        args.parser.error("give at least one PHOTO, or --from FILE")
    answers = similar_many(_library(args), queries, k=args.k, all_copies=args.all_copies)
    if len(answers) == 1 and not args.from_file:  # one query: the output of one search, as always
        # (--from keeps the batch form even for a one-line list: a script gets one shape)
        if answers[0].error:
            raise UserError(answers[0].error)
        if args.json:
            _print_json(_similar_json(answers[0].results))
        elif answers[0].results or answers[0].query_copies:
            print("\n".join(_similar_lines(answers[0])))
        return 0
    for a in answers:
        if a.error:
            print(f"photosim: {a.error}", file=sys.stderr)
    if args.json:
        _print_json({a.query: _similar_json(a.results) for a in answers if not a.error})
    else:
        blocks = [f"{_shown(a.query)}:\n" + "\n".join(_similar_lines(a, "  ")) for a in answers if not a.error]
        print("\n\n".join(blocks))
    return 1 if any(a.error for a in answers) else 0


def cmd_dupes(args) -> int:
    from .services import settings
    from .services.calibration import SET_BY_YOU, calibrate, duplicate_threshold
    from .services.duplicates import find_duplicates
    from .services.export import groups_as_json, write_csv

    lib = _library(args)
    used = duplicate_threshold(lib)
    if args.calibrate:
        c = calibrate(lib)
        print(f"threshold {c.threshold:.3f} from {c.positives} removed duplicates and {c.negatives} "
              f"'not duplicate' pairs: estimated precision {c.precision:.2f}, recall {c.recall:.2f} (F1 {c.f1:.2f}); "
              f"now the default for this library")
        if used.source == SET_BY_YOU:
            print(f"your own threshold {used.value:.4g} still comes first; "
                  "'photosim config dupes.threshold --reset' uses the calibrated one")
        return 0
    if args.keep_rules is not None:
        rules = settings.set_value(lib, "dupes.keep_rules", args.keep_rules)
        print(f"keeper rules for this library: {', '.join(rules)}", file=sys.stderr)
    if args.threshold is not None:
        note = f"near-duplicate threshold {args.threshold:.4g} for this run only (this library's: {used.describe()})"
        threshold = args.threshold
    else:
        note = f"near-duplicate threshold {used.describe()}; 'photosim config dupes.threshold VALUE' changes it"
        threshold = used.value
    with CliContext(unit="photo", quiet=True) as ctx:
        groups = find_duplicates(lib, threshold, ctx)
    # --json and --csv -: stdout stays pure JSON or CSV
    print(note, file=sys.stderr if args.json or args.csv == "-" else sys.stdout)
    if args.csv:
        if args.csv == "-":
            write_csv(groups, sys.stdout)
        else:
            from .services.outputs import write_output

            n = write_output(lib, args.csv, lambda fh: write_csv(groups, fh), force=args.force)
            print(f"wrote {len(groups)} groups ({n} photos) to {args.csv}", file=sys.stderr)
    if args.remove_copies:
        return _remove_copies(lib, groups, args)
    if args.json:
        _print_json(groups_as_json(groups))
        return 0
    if args.csv:
        return 0
    if not groups:
        print("no duplicates found")
    for n, g in enumerate(groups, 1):
        # The reason names the keeper; the lines below give every member's path, the keeper first.
        print(f"group {n} ({g.kind}): {g.reason}")
        for p, s in zip(g.photos, g.similarities):
            marks = "".join(m for m, on in ((" [keep]", p.id == g.keep.id), (" [same bytes]", p.id in g.same_bytes),
                                            (" [copy]", p.id in g.copy_of and p.id not in g.same_bytes),
                                            (" [protected]", p.id in g.protected),
                                            (" [kept]", g.kept(p) and p.id != g.keep.id)) if on)
            print(f"    {s:.3f}  {_shown(p.path)}{marks}")
    if groups:
        from .services.cleanup import plan_removal

        plan = plan_removal(groups)  # the figure `--remove-copies --dry-run` and the window show: copies only
        print(f"{len(groups)} groups; up to {_size(plan.bytes)} to free by removing {len(plan.photos)} copies "
              f"('photosim dupes --remove-copies' keeps the best of each, one undo step; "
              f"--kind burst for bursts)")
    return 0


def _remove_copies(lib, groups, args) -> int:
    """`dupes --remove-copies`: show the plan, ask once (or --yes), move it all as one undo step."""
    from .services import UserError
    from .services.cleanup import DEFAULT_KINDS, plan_removal, remove_copies

    kinds = tuple(dict.fromkeys(args.kind)) if args.kind else DEFAULT_KINDS
    plan = plan_removal(groups, kinds)
    for p, why in plan.skipped:
        print(f"skipped: {_shown(p.path)} ({why})", file=sys.stderr)
    for g, why in plan.untouched:
        print(f"left alone: the group of {_shown(g.keep.path)} ({why})", file=sys.stderr)
    what = f"{len(plan.photos)} photo(s), {_size(plan.bytes)}, from {plan.groups} group(s) ({', '.join(kinds)})"
    if not plan.photos:
        print(f"nothing to remove ({', '.join(kinds)} groups: no copy that is not kept)")
        return 0
    if args.dry_run:
        for p in plan.photos:
            print(f"would move: {_shown(p.path)}  (keeping {_shown(plan.keepers[p.id][0].path)})")
        print(f"would move {what} to the quarantine (dry run: nothing moved)")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(f"nothing moved: {what} would go, and there is no terminal to ask; add --yes to confirm")
        answer = input(f"Move {what} to the quarantine? 'photosim undo' puts them all back. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing moved")
            return 1
    with CliContext(unit="photo") as ctx:
        result = remove_copies(lib, plan, ctx)
    for path, why in result.skipped:
        print(f"skipped: {_shown(path)} ({why})", file=sys.stderr)
    state = "stopped: " if result.cancelled else ""
    print(f"{state}moved {len(result.moved)} photo(s) ({_size(result.bytes)}) to the quarantine in one step; "
          f"'photosim undo' puts them all back")
    return 130 if result.cancelled else 0


def cmd_trash(args) -> int:
    from .services.trash import trash

    lib = _library(args)
    with CliContext(quiet=True) as ctx:
        moved = trash(lib, args.paths, args.threshold, ctx)
    for m in moved:
        print(f"moved to quarantine: {_shown(m.original)}")
    print(f"{len(moved)} photo(s) moved; 'photosim undo' puts them back")
    return 0


def cmd_undo(args) -> int:
    from .services.trash import undo

    with CliContext(unit="photo", quiet=True) as ctx:
        restored = undo(_library(args), ctx)
    for m in restored:
        if m.beside:
            print(f"restored beside: {_shown(m.restored_to)} ({_shown(m.original)} is taken by another file)")
        else:
            print(f"restored: {_shown(m.original)}")
    for path in restored.gone:
        print(f"not restored: {_shown(path)} (no longer in the quarantine)", file=sys.stderr)
    for original, now, why in restored.blocked:
        print(f"not restored: {_shown(original)} ({why}); it is safe in the quarantine at {_shown(now)}; "
              "fix that and run 'photosim undo' again", file=sys.stderr)
    print(f"{len(restored)} photo(s) put back" + (f" from '{restored.label}'" if restored.label else "")
          + (f"; {len(restored.blocked)} could not go back yet" if restored.blocked else ""))
    return 1 if restored.blocked else 0


def cmd_repair(args) -> int:
    from .core.paths import default_library_dir
    from .services.repair import repair

    report = repair(args.library or default_library_dir())
    for line in report.lines:
        print(line)
    print("repair: " + ("could not repair everything (see above)" if report.unrepaired else
                        "repaired" if report.damaged else "nothing wrong found"))
    return 1 if report.unrepaired else 0


def cmd_label(args) -> int:
    from .services import labels

    lib = _library(args)
    if args.label_cmd == "not-duplicate":
        labels.not_duplicate(lib, [args.a, args.b])
        print("recorded: not duplicates (this group will not be shown again)")
    elif args.label_cmd in ("same", "different"):
        i = labels.add_pair(lib, args.a, args.b, args.label_cmd == "same")
        print(f"pair {i} recorded: {args.label_cmd}")
    elif args.label_cmd == "triplet":
        i = labels.add_triplet(lib, args.anchor, args.positive, args.negative)
        print(f"triplet {i} recorded")
    elif args.label_cmd == "import":
        r = labels.import_csv(lib, args.file)
        for p in r.problems:
            print(p, file=sys.stderr)
        print(f"imported {r.pairs} pairs and {r.triplets} triplets; {len(r.problems)} rows skipped")
        return 1 if r.problems else 0
    elif args.label_cmd == "list":
        data = labels.list_labels(lib)
        if args.json:
            _print_json(data)
        else:
            for p in data["pairs"]:
                print(f"pair {p['id']}: {p['label']:9}  {_shown(p['a'])}  {_shown(p['b'])}")
            for t in data["triplets"]:
                print(f"triplet {t['id']}: {_shown(t['anchor'])} ~ {_shown(t['positive'])} ≠ {_shown(t['negative'])}")
            print(f"{len(data['pairs'])} pairs, {len(data['triplets'])} triplets")
    elif args.label_cmd == "remove":
        kind = labels.remove_label(lib, args.id, "pair" if args.pair else "triplet" if args.triplet else None)
        print(f"removed {kind} {args.id}")
    return 0


def cmd_folders(args) -> int:
    from .services import folders

    lib = _library(args)
    if args.folders_cmd == "protect":
        folder = folders.protect(lib, args.path)
        print(f"protected: {_shown(folder)} (its photos are never proposed for removal, and 'trash' refuses them)")
        return 0
    if args.folders_cmd == "unprotect":
        print(f"no longer protected: {_shown(folders.unprotect(lib, args.path))}")
        return 0
    if args.folders_cmd == "remove":
        r = folders.remove_folder(lib, args.path, forget=args.forget)
        print(f"no longer watching {_shown(r.folder)} (no file was touched)")
        if r.still_watched_by:
            print(f"its photos stay in the library: {_shown(r.still_watched_by)} still covers them")
        elif r.forgotten:
            print(f"{r.forgotten} photo(s) removed from the library (with their labels)")
        else:
            print(f"{r.offline} photo(s) kept as offline; 'photosim index {_shown(r.folder)}' brings them back")
        return 0
    rows = folders.list_folders(lib)
    if args.json:
        _print_json([{"path": f.path, "photos": f.photos, "online": f.online, "protected": f.protected} for f in rows])
        return 0
    for f in rows:
        print(f"{f.photos:7} photos  {'online ' if f.online else 'offline'}  {_shown(f.path)}"
              f"{'  (protected)' if f.protected else ''}")
    if not rows:
        print("no folders yet: add one with 'photosim index PATH'")
    for p in folders.protected_folders(lib):
        print(f"protected: {_shown(p)}")
    return 0


def cmd_config(args) -> int:
    from .services import settings

    lib = _library(args)
    if args.key is None:
        rows = settings.all_settings(lib)
        if args.json:
            _print_json({s.key: {"value": v, "set": is_set, "help": s.help} for s, v, is_set in rows})
            return 0
        for s, value, is_set in rows:
            shown = s.show(value) if value is not None else "(unset)"
            print(f"{s.key} = {shown}{'' if is_set else '  (default)'}    # {s.help}")
        return 0
    if args.reset:
        settings.reset(lib, args.key)
        print(f"{args.key} reset to its default")
    elif args.value is not None:
        value = settings.set_value(lib, args.key, args.value)
        print(f"{args.key} = {settings.SETTINGS[args.key].show(value)}")
    else:
        value = settings.get(lib, args.key)
        print(settings.SETTINGS[args.key].show(value) if value is not None else "(unset)")
    return 0


def cmd_export(args) -> int:
    from .services.info import export_npz

    n = export_npz(_library(args), args.out, force=args.force)
    print(f"wrote {n} vectors to {args.out}")
    return 0


def cmd_eval(args) -> int:
    from .core.spec import EmbeddingSpec
    from .services.evaluation import evaluate_tree

    spec = EmbeddingSpec(layer=args.layer, pooling=args.pooling, gem_p=args.gem_p)
    with CliContext(quiet=args.quiet) as ctx:
        ev = evaluate_tree(args.root, ctx, spec, adapted=not args.plain)
    if args.json:
        _print_json({**ev.plain.as_dict(), "embedding": spec.key, "photos": ev.photos,
                     "adapted": ev.adapted.as_dict() if ev.adapted else None})
        return 0

    def line(name: str, sc) -> str:
        return (f"{name}: mAP {sc.map:.4f}, mAP@50 {sc.map_at_50:.4f}, precision@10 {sc.precision_at_10:.4f}, "
                f"R-precision {sc.r_precision:.4f} over {sc.queries} queries")

    print(line(f"embedding {spec.key}", ev.plain))
    if ev.adapted is not None:
        print(line("adapted to these photos, as `similar` answers", ev.adapted))
    elif not args.plain:
        print("adapted: not measured (too few photos: such a library keeps the plain vectors)")
    return 0


def cmd_info(args) -> int:
    from .services import info as info_service

    lib = _library(args)
    if args.errors:
        errs = info_service.errors(lib)
        if args.json:
            _print_json([{"path": e.path, "reason": e.reason} for e in errs])
        else:
            for e in errs:
                print(f"{_shown(e.path)}: {e.reason}")
            print(f"{len(errs)} unreadable file(s)")
        return 0
    data = info_service.info(lib)
    if args.json:
        _print_json(data)
        return 0
    print(f"library:   {data['library']} (schema {data['schema']})")
    print(f"photos:    {data['indexed']} indexed, {data['missing']} missing/offline, {data['failed']} unreadable")
    print(f"model:     {data['model']['id']} — {data['model']['name']} ({data['embedding']})")
    print(f"index:     {data['index']}")
    used = data["bytes"]
    print(f"disk:      {_size(used['database'] + used['index'])} (database {_size(used['database'])}, index "
          f"{_size(used['index'])})" + (f", {_size(used['per_photo'])} a photo" if used["per_photo"] else ""))
    if data["with_keypoints"] < data["indexed"]:
        print(f"dupes:     {data['indexed'] - data['with_keypoints']} photos indexed by an older photosim have no "
              "stored keypoints yet; the next `photosim dupes` reads them once")
    for f in data["folders"]:
        print(f"folder:    {_shown(f)}")
    return 0


def cmd_models(args) -> int:
    from .services import models

    lib = _library(args)
    if args.models_cmd == "use":
        m = models.use_model(lib, args.id)
        print(f"now using model {m['id']} — {m['name']}")
        return 0
    rows = models.list_models(lib)
    if args.json:
        _print_json(rows)
        return 0
    for m in rows:
        mark = "*" if m["active"] else " "
        summary = m["summary"]
        extra = ", ".join(f"{k} {v}" for k, v in summary.items() if not isinstance(v, (dict, list)))
        print(f"{mark} {m['id']:3}  {m['name']}  ({m['vectors']} vectors){'  ' + extra if extra else ''}")
    return 0


def _training(name: str):
    """A function of the training service; a browsing-only build (no torch) says what it lacks."""
    from .services import UserError

    try:
        from .services import training
    except ImportError as exc:
        raise UserError("fine-tuning needs the full install (this build has no torch)") from exc
    return getattr(training, name)


def cmd_train(args) -> int:
    train = _training("train")

    lib = _library(args)
    options = {k: v for k, v in (("margin", args.margin), ("epochs", args.epochs), ("lr", args.lr),
                                 ("mining", args.mining)) if v is not None}
    with CliContext(unit="step") as ctx:
        summary = train(lib, ctx, seed=args.seed, **options)
    on = f" on the library-adapted model {summary['on']}" if summary.get("on") else ""
    print(f"trained model {summary['model']}{on} on {summary['triplets']} triplets and {summary['pairs']} pairs "
          f"in {summary['seconds']:.1f} s (final loss {summary['final_loss']:.4f}); it is now in use "
          f"('photosim models use 0' goes back)")
    return 0


def cmd_adapt(args) -> int:
    from .services.adaptation import adapt
    from .services.index_events import adapted_line, done_line
    from .services.indexing import IndexReport

    lib = _library(args)
    if args.progress_json:  # the window runs this in a child, as it runs indexing
        with JsonProgressContext(args.progress_json) as jctx:
            result = adapt(lib, jctx, seed=args.seed)  # an error: one line on stderr, as for indexing
            jctx.emit(adapted_line(result))
            jctx.emit(done_line(IndexReport()))
        return 0
    with CliContext(unit="photo") as ctx:  # each step counts photos: rate and time left per step
        result = adapt(lib, ctx, seed=args.seed)
    print(f"model {result.model} adapted to this library's {result.photos} photos ({result.dim} dimensions, "
          f"{result.seconds:.1f} s); it is now in use ('photosim models use {result.parent}' goes back)")
    return 0


def cmd_demo(args) -> int:
    """What `make run` does when no window can open: index the bundled demo photos, show a search."""
    from .services import UserError
    from .services.demo import DEMO_QUERY, demo_folder, demo_photos
    from .services.indexing import index_folders
    from .services.similar import similar_answer

    demo = demo_folder()
    if demo is None:
        raise UserError("the demo photos are not part of this installation")
    lib = _library(args)
    with CliContext() as ctx:
        r = index_folders(lib, [demo], ctx)
    print(f"indexed {r.embedded} new demo photos into {lib.directory}")
    photos = demo_photos(demo)
    query = next((p for p in photos if os.path.basename(p) == DEMO_QUERY), photos[0])
    answer = similar_answer(lib, query, k=5)
    if answer.query_copies:
        names = ", ".join(os.path.basename(n.photo.path) for n in answer.query_copies)
        print(f"copies of {os.path.basename(query)} in the library: {names}")
    print(f"most similar to {os.path.basename(query)}:")
    for n in answer.results:
        print(f"  {n.similarity:.3f}  {os.path.basename(n.photo.path)}")
    return 0


def cmd_gui(args) -> int:
    try:
        from .gui.startup import run
    except ImportError as exc:  # a build without the window
        print(f"photosim: the desktop app is not available here ({exc})", file=sys.stderr)
        return 2
    return run(args.library)


# --- parser -----------------------------------------------------------------------------
LIBRARY_HELP = "library folder (default: $PHOTOSIM_LIBRARY or the per-user data folder); before or after the command"


def _command(subparsers, name: str, **kwargs) -> argparse.ArgumentParser:
    """A (sub)command that also takes --library, so `photosim gui --library DIR` works as
    `photosim --library DIR gui` does. SUPPRESS: when not given after the command, the value
    given before it (or None) stays."""
    parser = subparsers.add_parser(name, **kwargs)
    parser.add_argument("--library", metavar="DIR", default=argparse.SUPPRESS, help=LIBRARY_HELP)
    return parser


def build_parser() -> argparse.ArgumentParser:
    from .core.duplicates import DEFAULT_THRESHOLD
    from .core.spec import LAYERS, POOLINGS, EmbeddingSpec  # torch-free: every command parses args

    default = EmbeddingSpec()
    p = argparse.ArgumentParser(prog="photosim", description="Find similar and duplicate photos.")
    p.add_argument("--version", action="version", version=f"photosim {__version__}")
    p.add_argument("--library", metavar="DIR", default=None, help=LIBRARY_HELP)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    c = _command(sub, "index", help="scan folders and embed new or changed photos (no PATH: rescan the library's folders)")
    c.add_argument("paths", nargs="*", metavar="PATH")
    c.add_argument("--batch-size", type=int, default=32)
    c.add_argument("--retry-errors", action="store_true", help="try unreadable files again even if unchanged")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    c.add_argument("--progress-json", metavar="PATH", default=None,
                   help="write progress as JSON lines to PATH ('-': stdout, then nothing else is printed there)")
    c.add_argument("--no-adapt", action="store_true",
                   help="do not adapt the library afterwards, even when it is due ('photosim adapt' does it later)")
    c.set_defaults(func=cmd_index)

    c = _command(sub, "similar", help="the photos most similar to PHOTO (in the library or not)")
    c.add_argument("photos", nargs="*", metavar="PHOTO")
    c.add_argument("--from", dest="from_file", metavar="FILE",
                   help="also the query paths in FILE, one a line ('-': standard input)")
    c.add_argument("-k", type=int, default=10, help="how many distinct photos (default 10)")
    c.add_argument("--json", action="store_true",
                   help="one query: a list of {path, similarity, score}; several (or --from): an object from each "
                        "query, as given, to its list. similarity: the raw cosine; score: the number the text shows "
                        "(the same for the plain model; for a library-adapted one, the cosine placed among this "
                        "library's own best matches, 0-1)")
    c.add_argument("--all-copies", action="store_true",
                   help="list every copy of a photo as its own result (and the query's own copies)")
    c.set_defaults(func=cmd_similar, parser=c)

    c = _command(sub, "dupes", help="groups of exact and near duplicates, bursts (best shot first) and RAW + JPEG "
                 "pairs, with a suggested keeper and why (moves nothing)")
    c.add_argument("--threshold", type=float, default=None,
                   help="cosine similarity for near-duplicates, for this run only (default: the library's: "
                        "'photosim config dupes.threshold', else calibrated, else %.2f)" % DEFAULT_THRESHOLD)
    c.add_argument("--calibrate", action="store_true",
                   help="set this library's threshold from your decisions (removed duplicates, 'not duplicate' marks)")
    c.add_argument("--json", action="store_true")
    c.add_argument("--csv", metavar="FILE", help="write the groups as CSV (one row per photo; '-': stdout); "
                   "FILE must not exist")
    c.add_argument("--force", action="store_true", help="with --csv: replace FILE if it exists (never a photo "
                   "nor a file of the library or of its photo folders)")
    c.add_argument("--keep-rules", metavar="RULES", default=None,
                   help="which photo to keep, rules in order, remembered by the library "
                        "(resolution,size,date,format,folder,name,sharpness,exif; see 'photosim config')")
    c.add_argument("--remove-copies", action="store_true",
                   help="keep the best of every group and move the rest to the quarantine (asks once; one undo step)")
    c.add_argument("--kind", action="append", choices=("exact", "near", "burst", "raw+jpeg"),
                   help="with --remove-copies: which groups (repeatable; default exact and near: copies only, never "
                        "a burst frame nor a RAW or its JPEG). burst: all but the best shot; raw+jpeg: the file of "
                        "each pair your keeper rules do not prefer (needs a 'format' rule)")
    c.add_argument("--dry-run", action="store_true", help="with --remove-copies: list what would move, move nothing")
    c.add_argument("--yes", action="store_true", help="with --remove-copies: do not ask (for scripts)")
    c.set_defaults(func=cmd_dupes)

    c = _command(sub, "trash", help="move photos to the quarantine (undoable with 'photosim undo')")
    c.add_argument("paths", nargs="+", metavar="PATH")
    c.add_argument("--threshold", type=float, default=None, help=argparse.SUPPRESS)
    c.set_defaults(func=cmd_trash)

    c = _command(sub, "undo", help="put back the photos of the last removal ('trash' or 'dupes --remove-copies')")
    c.set_defaults(func=cmd_undo)

    c = _command(sub, "label", help="duplicate decisions and similarity labels")
    lsub = c.add_subparsers(dest="label_cmd", required=True, metavar="KIND")
    for name, text in (("not-duplicate", "these two are not duplicates (a duplicate decision)"),
                       ("same", "these two are similar (a similarity label)"),
                       ("different", "these two are not similar (a similarity label)")):
        lc = _command(lsub, name, help=text)
        lc.add_argument("a")
        lc.add_argument("b")
    lc = _command(lsub, "triplet", help="ANCHOR is more like POSITIVE than NEGATIVE")
    lc.add_argument("anchor")
    lc.add_argument("positive")
    lc.add_argument("negative")
    lc = _command(lsub, "import", help="import a CSV of triplets or pairs")
    lc.add_argument("file")
    lc = _command(lsub, "list", help="list similarity labels")
    lc.add_argument("--json", action="store_true")
    lc = _command(lsub, "remove", help="remove a label by id")
    lc.add_argument("id", type=int)
    g = lc.add_mutually_exclusive_group()
    g.add_argument("--pair", action="store_true")
    g.add_argument("--triplet", action="store_true")
    c.set_defaults(func=cmd_label)

    c = _command(sub, "folders", help="the folders the library watches; 'folders remove PATH' stops watching one, "
                                      "'folders protect PATH' keeps its photos from any removal")
    fsub = c.add_subparsers(dest="folders_cmd", metavar="remove|protect|unprotect")
    fc = _command(fsub, "protect", help="never propose PATH's photos for removal; 'trash' refuses them")
    fc.add_argument("path", metavar="PATH")
    fc = _command(fsub, "unprotect", help="undo 'folders protect PATH'")
    fc.add_argument("path", metavar="PATH")
    fc = _command(fsub, "remove", help="stop rescanning PATH; its photos are kept as offline (no file is touched)")
    fc.add_argument("path", metavar="PATH")
    fc.add_argument("--forget", action="store_true",
                    help="also remove its photos (and their labels) from the library; files stay on disk")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_folders)

    c = _command(sub, "config", help="this library's settings: list them, show one, or set one")
    c.add_argument("key", nargs="?", metavar="KEY")
    c.add_argument("value", nargs="?", metavar="VALUE")
    c.add_argument("--reset", action="store_true", help="go back to the default")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_config)

    c = _command(sub, "export", help="write paths and vectors to a .npz file")
    c.add_argument("out", metavar="OUT.npz", help="a file that does not exist yet")
    c.add_argument("--force", action="store_true",
                   help="replace OUT.npz if it exists (never a photo nor a file of the library or of its photo folders)")
    c.set_defaults(func=cmd_export)

    c = _command(sub, "eval", help="retrieval quality on a folder-per-class tree")
    c.add_argument("root")
    c.add_argument("--layer", choices=LAYERS, default=default.layer)
    c.add_argument("--pooling", choices=POOLINGS, default=default.pooling)
    c.add_argument("--gem-p", type=float, default=default.gem_p)
    c.add_argument("--plain", action="store_true", help="only the plain vectors (skip the adaptation)")
    c.add_argument("--json", action="store_true")
    c.add_argument("-q", "--quiet", action="store_true")
    c.set_defaults(func=cmd_eval)

    c = _command(sub, "info", help="what the library holds")
    c.add_argument("--errors", action="store_true", help="list the files that could not be read, with reasons")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_info)

    c = _command(sub, "models", help="model versions; 'models use ID' switches")
    msub = c.add_subparsers(dest="models_cmd", metavar="use")
    mc = _command(msub, "use", help="switch to model version ID (0 = ImageNet)")
    mc.add_argument("id", type=int)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_models)

    from .core.train.strategies import STRATEGIES

    c = _command(sub, "train", help="fine-tune on your similarity labels and switch to the new model")
    c.add_argument("--margin", type=float, default=None, help="triplet margin α")
    c.add_argument("--epochs", type=int, default=None)
    c.add_argument("--lr", type=float, default=None, help="learning rate")
    c.add_argument("--mining", choices=(*STRATEGIES, "none"), default=None)
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(func=cmd_train)

    c = _command(sub, "adapt", help="adapt similarity to this library now, without labels (indexing does it by itself)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--progress-json", metavar="PATH", default=None, help=argparse.SUPPRESS)
    c.set_defaults(func=cmd_adapt)

    c = _command(sub, "repair", help="check the library (database, models, indexes) and rebuild what can be "
                                     "rebuilt; no photo is touched")
    c.set_defaults(func=cmd_repair)

    c = _command(sub, "demo", help="index the bundled demo photos and show a search")
    c.set_defaults(func=cmd_demo)

    c = _command(sub, "gui", help="open the desktop app")
    c.set_defaults(func=cmd_gui)
    return p


def main(argv: list[str] | None = None) -> int:
    from .services import UserError
    from .services.library import LibraryError, explain

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, LibraryError) as exc:
        print(f"photosim: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("photosim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, traceback to a log
        said = explain(exc, _library_dir(args))  # a damaged, read-only or full library: a sentence
        if said is not None:
            print(f"photosim: {said}", file=sys.stderr)
            return 2
        if isinstance(exc, ValueError):
            print(f"photosim: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, OSError):
            print(f"photosim: {exc.strerror or exc}{': ' + exc.filename if getattr(exc, 'filename', None) else ''}",
                  file=sys.stderr)
            return 1
        log = _log_traceback()
        print(f"photosim: unexpected error: {type(exc).__name__}: {exc} (details in {log})", file=sys.stderr)
        return 1


def _library_dir(args) -> str:
    from .core.paths import default_library_dir

    return os.path.abspath(getattr(args, "library", None) or default_library_dir())


def _log_traceback() -> str:
    from .core.paths import cache_dir

    path = os.path.join(cache_dir(), "error.log")
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as fh:
            fh.write(f"--- {time.ctime()} photosim {__version__} {sys.argv}\n")
            fh.write(traceback.format_exc())
    except OSError:
        return "(no log: cache folder not writable)"
    return path


if __name__ == "__main__":
    sys.exit(main())
