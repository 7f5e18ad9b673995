"""`photosim eval`: retrieval quality on a folder-per-class tree."""
from __future__ import annotations

from .context import CliContext
from .output import Answer, command


def add(commands) -> None:
    from ..core.spec import LAYERS, POOLINGS, EmbeddingSpec  # torch-free: every command parses args

    default = EmbeddingSpec()
    c = command(commands, "eval", json_help="", help="retrieval quality on a folder-per-class tree")
    c.add_argument("root")
    c.add_argument("--layer", choices=LAYERS, default=default.layer)
    c.add_argument("--pooling", choices=POOLINGS, default=default.pooling)
    c.add_argument("--gem-p", type=float, default=default.gem_p)
    c.add_argument("--plain", action="store_true", help="only the plain vectors (skip the adaptation)")
    c.add_argument("-q", "--quiet", action="store_true")
    c.set_defaults(func=evaluate)


def evaluate(args) -> Answer:
    from ..core.spec import EmbeddingSpec
    from ..services.evaluation import evaluate_tree

    spec = EmbeddingSpec(layer=args.layer, pooling=args.pooling, gem_p=args.gem_p)
    with CliContext(quiet=args.quiet) as ctx:
        ev = evaluate_tree(args.root, ctx, spec, adapted=not args.plain)

    def line(name: str, sc) -> str:
        return (f"{name}: mAP {sc.map:.4f}, mAP@50 {sc.map_at_50:.4f}, precision@10 {sc.precision_at_10:.4f}, "
                f"R-precision {sc.r_precision:.4f} over {sc.queries} queries")

    lines = [line(f"embedding {spec.key}", ev.plain)]
    if ev.adapted is not None:
        lines.append(line("adapted to these photos, as `similar` answers", ev.adapted))
    elif not args.plain:
        lines.append("adapted: not measured (too few photos: such a library keeps the plain vectors)")
    if ev.learned is not None:
        lines.append(line("learned further from their views, as `similar` answers", ev.learned))
    elif ev.refined is not None:
        lines.append(f"learned further: not used ({ev.refined.photos} photos with views, "
                     f"{ev.refined.agreement:.0%} of the nearest neighbours kept; the adaptation answers)")
    return Answer(lines, data={**ev.plain.as_dict(), "embedding": spec.key, "photos": ev.photos,
                               "adapted": ev.adapted.as_dict() if ev.adapted else None,
                               "learned": ev.learned.as_dict() if ev.learned else None,
                               "refined": ev.refined.as_dict() if ev.refined else None})
