"""What the library holds and how it is set: `folders`, `config`, `info`, `models`, `export`, `repair`."""
from __future__ import annotations

from ..services.errors import EXIT_FAILED, EXIT_OK
from ..services.wording import human_bytes
from .output import Answer, command, open_library, printable


def add(commands) -> None:
    c = command(commands, "folders", json_help="", help="the folders the library watches; 'folders remove PATH' "
                "stops watching one, 'folders protect PATH' keeps its photos from any removal")
    actions = c.add_subparsers(dest="folders_cmd", metavar="remove|protect|unprotect")
    fc = command(actions, "protect", help="never propose PATH's photos for removal; 'trash' refuses them")
    fc.add_argument("path", metavar="PATH")
    fc = command(actions, "unprotect", help="undo 'folders protect PATH'")
    fc.add_argument("path", metavar="PATH")
    fc = command(actions, "remove", help="stop rescanning PATH; its photos are kept as offline (no file is touched)")
    fc.add_argument("path", metavar="PATH")
    fc.add_argument("--forget", action="store_true",
                    help="also remove its photos (and their labels) from the library; files stay on disk")
    c.set_defaults(func=folders)

    c = command(commands, "config", json_help="", help="this library's settings: list them, show one, or set one")
    c.add_argument("key", nargs="?", metavar="KEY")
    c.add_argument("value", nargs="?", metavar="VALUE")
    c.add_argument("--reset", action="store_true", help="go back to the default")
    c.set_defaults(func=config)

    c = command(commands, "info", json_help="", help="what the library holds")
    c.add_argument("--errors", action="store_true", help="list the files that could not be read, with reasons")
    c.set_defaults(func=info)

    c = command(commands, "models", json_help="", help="model versions; 'models use ID' switches")
    mc = command(c.add_subparsers(dest="models_cmd", metavar="use"), "use",
                 help="switch to model version ID (0 = ImageNet)")
    mc.add_argument("id", type=int)
    c.set_defaults(func=models)

    c = command(commands, "export", help="write paths and vectors to a .npz file")
    c.add_argument("out", metavar="OUT.npz", help="a file that does not exist yet")
    c.add_argument("--force", action="store_true",
                   help="replace OUT.npz if it exists (never a photo nor a file of the library or of its photo folders)")
    c.set_defaults(func=export)

    c = command(commands, "repair", help="check the library (database, models, indexes) and rebuild what can be "
                                         "rebuilt; no photo is touched")
    c.set_defaults(func=repair)


def folders(args) -> Answer:
    from ..services import folders as service

    lib = open_library(args)
    if args.folders_cmd == "protect":
        return Answer([f"protected: {printable(service.protect(lib, args.path))} (its photos are never proposed for "
                       "removal, and 'trash' refuses them)"])
    if args.folders_cmd == "unprotect":
        return Answer([f"no longer protected: {printable(service.unprotect(lib, args.path))}"])
    if args.folders_cmd == "remove":
        r = service.remove_folder(lib, args.path, forget=args.forget)
        lines = [f"no longer watching {printable(r.folder)} (no file was touched)"]
        if r.still_watched_by:
            lines.append(f"its photos stay in the library: {printable(r.still_watched_by)} still covers them")
        elif r.forgotten:
            lines.append(f"{r.forgotten} photo(s) removed from the library (with their labels)")
        else:
            lines.append(f"{r.offline} photo(s) kept as offline; 'photosim index {printable(r.folder)}' brings them back")
        return Answer(lines)
    rows = service.list_folders(lib)
    lines = [f"{f.photos:7} photos  {'online ' if f.online else 'offline'}  {printable(f.path)}"
             f"{'  (protected)' if f.protected else ''}" for f in rows]
    if not rows:
        lines.append("no folders yet: add one with 'photosim index PATH'")
    lines += [f"protected: {printable(p)}" for p in service.protected_folders(lib)]
    return Answer(lines, data=[{"path": f.path, "photos": f.photos, "online": f.online, "protected": f.protected}
                               for f in rows])


def config(args) -> Answer:
    from ..services import settings

    lib = open_library(args)
    if args.key is None:
        rows = settings.all_settings(lib)
        return Answer([f"{s.key} = {s.show(value) if value is not None else '(unset)'}{'' if is_set else '  (default)'}"
                       f"    # {s.help}" for s, value, is_set in rows],
                      data={s.key: {"value": v, "set": is_set, "help": s.help} for s, v, is_set in rows})
    if args.reset:
        settings.reset(lib, args.key)
        return Answer([f"{args.key} reset to its default"])
    if args.value is not None:
        value = settings.set_value(lib, args.key, args.value)
        return Answer([f"{args.key} = {settings.SETTINGS[args.key].show(value)}"])
    value = settings.get(lib, args.key)
    return Answer([settings.SETTINGS[args.key].show(value) if value is not None else "(unset)"])


def info(args) -> Answer:
    from ..services import info as service

    lib = open_library(args)
    if args.errors:
        errs = service.errors(lib)
        return Answer([f"{printable(e.path)}: {e.reason}" for e in errs] + [f"{len(errs)} unreadable file(s)"],
                      data=[{"path": e.path, "reason": e.reason} for e in errs])
    found = service.info(lib)
    used = found.bytes
    lines = [f"library:   {found.library} (schema {found.schema})",
             f"photos:    {found.indexed} indexed, {found.missing} missing/offline, {found.failed} unreadable",
             f"model:     {found.model_id} — {found.model_name} ({found.embedding})",
             f"index:     {found.index}",
             f"engine:    {found.engine}",
             f"disk:      {human_bytes(used.database + used.index)} (database {human_bytes(used.database)}, "
             f"index {human_bytes(used.index)})"
             + (f", {human_bytes(used.per_photo)} a photo" if used.per_photo else "")]
    if found.with_keypoints < found.indexed:
        lines.append(f"dupes:     {found.indexed - found.with_keypoints} photos indexed by an older photosim have "
                     "no stored keypoints yet; the next `photosim dupes` reads them once")
    lines += [f"folder:    {printable(f)}" for f in found.folders]
    return Answer(lines, data=found.as_dict())


def models(args) -> Answer:
    from ..services import models as service

    lib = open_library(args)
    if args.models_cmd == "use":
        m = service.use_model(lib, args.id)
        return Answer([f"now using model {m.id} — {m.name}"])
    rows = service.list_models(lib)
    lines = []
    for m in rows:
        extra = ", ".join(f"{k} {v}" for k, v in m.summary.items() if not isinstance(v, (dict, list)))
        lines.append(f"{'*' if m.active else ' '} {m.id:3}  {m.name}  ({m.vectors} vectors){'  ' + extra if extra else ''}")
        tried = m.summary.get("pretext")
        if tried:  # what learning further from the photos' views found (services/pretext.py)
            verdict = "this version" if m.spec.get("refines") else "a version made of it" if tried["used"] else "not used"
            lines.append(f"        learned from the views of {tried['photos']} photos, kept {tried['agreement']:.0%} "
                         f"of the nearest neighbours: {verdict}")
    return Answer(lines, data=[m.as_dict() for m in rows])


def export(args) -> Answer:
    from ..services.info import export_npz

    n = export_npz(open_library(args), args.out, force=args.force)
    return Answer([f"wrote {n} vectors to {args.out}"])


def repair(args) -> Answer:
    from ..core.paths import default_library_dir
    from ..services.repair import repair as repair_library

    report = repair_library(args.library or default_library_dir())
    verdict = ("could not repair everything (see above)" if report.unrepaired else
               "repaired" if report.damaged else "nothing wrong found")
    return Answer([*report.lines, f"repair: {verdict}"], status=EXIT_FAILED if report.unrepaired else EXIT_OK)
