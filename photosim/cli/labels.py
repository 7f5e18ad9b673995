"""`photosim label ...` (duplicate decisions, similarity labels) and `photosim train`."""
from __future__ import annotations

from ..services.errors import EXIT_FAILED, EXIT_OK
from .context import CliContext
from .output import Answer, command, open_library, printable


def add(commands) -> None:
    c = command(commands, "label", help="duplicate decisions and similarity labels")
    kinds = c.add_subparsers(dest="label_cmd", required=True, metavar="KIND")
    for name, text in (("not-duplicate", "these two are not duplicates (a duplicate decision)"),
                       ("same", "these two are similar (a similarity label)"),
                       ("different", "these two are not similar (a similarity label)")):
        lc = command(kinds, name, help=text)
        lc.add_argument("a")
        lc.add_argument("b")
    lc = command(kinds, "triplet", help="ANCHOR is more like POSITIVE than NEGATIVE")
    for name in ("anchor", "positive", "negative"):
        lc.add_argument(name)
    lc = command(kinds, "import", help="import a CSV of triplets or pairs")
    lc.add_argument("file")
    command(kinds, "list", json_help="", help="list similarity labels")
    lc = command(kinds, "remove", help="remove a label by id")
    lc.add_argument("id", type=int)
    g = lc.add_mutually_exclusive_group()
    g.add_argument("--pair", action="store_true")
    g.add_argument("--triplet", action="store_true")
    c.set_defaults(func=label)
    add_train(commands)


def label(args) -> Answer:
    from ..services import labels

    lib = open_library(args)
    if args.label_cmd == "not-duplicate":
        labels.not_duplicate(lib, [args.a, args.b])
        return Answer(["recorded: not duplicates (this group will not be shown again)"])
    if args.label_cmd in ("same", "different"):
        i = labels.add_pair(lib, args.a, args.b, args.label_cmd == "same")
        return Answer([f"pair {i} recorded: {args.label_cmd}"])
    if args.label_cmd == "triplet":
        return Answer([f"triplet {labels.add_triplet(lib, args.anchor, args.positive, args.negative)} recorded"])
    if args.label_cmd == "import":
        r = labels.import_csv(lib, args.file)
        return Answer([f"imported {r.pairs} pairs and {r.triplets} triplets; {len(r.problems)} rows skipped"],
                      notes=list(r.problems), status=EXIT_FAILED if r.problems else EXIT_OK)
    if args.label_cmd == "list":
        found = labels.list_labels(lib)
        lines = [f"pair {p.id}: {p.label:9}  {printable(p.a)}  {printable(p.b)}" for p in found.pairs]
        lines += [f"triplet {t.id}: {printable(t.anchor)} ~ {printable(t.positive)} ≠ {printable(t.negative)}"
                  for t in found.triplets]
        return Answer(lines + [f"{len(found.pairs)} pairs, {len(found.triplets)} triplets"], data=found.as_dict())
    kind = labels.remove_label(lib, args.id, "pair" if args.pair else "triplet" if args.triplet else None)
    return Answer([f"removed {kind} {args.id}"])


def add_train(commands) -> None:
    from ..core.train.strategies import STRATEGIES

    c = command(commands, "train", help="fine-tune on your similarity labels and switch to the new model")
    c.add_argument("--margin", type=float, default=None, help="triplet margin α")
    c.add_argument("--epochs", type=int, default=None)
    c.add_argument("--lr", type=float, default=None, help="learning rate")
    c.add_argument("--mining", choices=(*STRATEGIES, "none"), default=None)
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(func=train)


def train(args) -> Answer:
    from ..services.can_train import training_service

    training = training_service()  # a browsing-only build (no torch) says what it lacks
    lib = open_library(args)
    options = {k: v for k, v in (("margin", args.margin), ("epochs", args.epochs), ("lr", args.lr),
                                 ("mining", args.mining)) if v is not None}
    with CliContext(unit="step") as ctx:
        done = training.train(lib, ctx, seed=args.seed, **options)
    on = f" on the library-adapted model {done.on}" if done.on else ""
    loss = f"{done.final_loss:.4f}" if done.final_loss is not None else "none"
    return Answer([f"trained model {done.model}{on} on {done.triplets} triplets and {done.pairs} "
                   f"pairs in {done.seconds:.1f} s (final loss {loss}); it is now in use "
                   "('photosim models use 0' goes back)"])
