"""Fine-tune the adapter on labels: triplet loss plus library preservation.

Per step the loss is

    triplet(marked triplets) + triplet(mined in the labelled batch)
    + preserve_weight * preservation(random unlabelled batch)

The marked triplets are the user's own labels; mining adds the hard and
semi-hard triplets that the transitive closure of the labels allows (see
``pairs.py``); the preservation term keeps the cosine matrix of a random
batch of library photos close to what it was before the adapter, which is
what keeps the classes nobody labelled from getting worse (measured in
docs/finetune.md: without it unlabelled classes lose 0.05-0.07 mAP).
The margin is large (1.0 on squared distances of unit vectors, i.e. in
[0, 4]) because most label triplets already hold with a small margin and
would teach nothing. Everything operates on stored
base vectors, so a few hundred labels train in seconds on one CPU core.
In a library adapted to itself (``adapted_options``) each anchor asks as
`similar` asks there, expanded with its nearest photos (``expand``), and the
library term is weighed per photo (``per_photo``).

Reproducible: all randomness (init, batch sampling) comes from one
``torch.Generator``/``numpy`` seed, and torch's own RNG state is restored.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from .adapter import Adapter, AdapterConfig
from .loss import gram_mse, neighbour_kl, triplet_loss
from .mining import STRATEGIES, mine, relation_masks
from .pairs import build_graph, explicit_triplets

ProgressFn = Callable[[int, int, float], None]
StopFn = Callable[[], bool]
PRESERVE = ("kl", "gram", "none")


@dataclass(frozen=True)
class TrainOptions:
    """Training knobs; defaults are the ones measured in docs/finetune.md."""

    margin: float = 1.0  # measured in docs/finetune.md: 0.75 missed the 20-triplet bar
    epochs: int = 100
    lr: float = 1e-3
    weight_decay: float = 0.0
    mining: str = "batch-hard"  # one of mining.STRATEGIES, or "none"
    kind: str = "residual"
    hidden: int = 256
    out_dim: int = 256
    batch_size: int = 256  # labelled photos per step
    triplet_batch: int = 512  # marked triplets per step
    preserve: str = "gram"
    preserve_weight: float = 1.0
    preserve_batch: int = 256
    temperature: float = 0.05
    # Query expansion in the loss (0: off): each anchor asks as `similar` asks in an adapted library,
    # the weighted mean of itself and its ``expand`` nearest photos (weights max(cos, 0)^expand_alpha).
    expand: int = 0
    expand_alpha: float = 2.0
    # Weigh the library term per photo: scaled by (library photos / labelled photos) in the step, so
    # a few labels move the library less than many (each photo in a step has the same say).
    per_photo: bool = False

    def __post_init__(self) -> None:
        if self.mining not in (*STRATEGIES, "none"):
            raise ValueError(f"unknown mining {self.mining!r}")
        if self.preserve not in PRESERVE:
            raise ValueError(f"unknown preservation {self.preserve!r}")
        if self.epochs < 0 or self.lr <= 0 or self.margin < 0 or self.expand < 0:
            raise ValueError("epochs, margin and expand must be >= 0, lr > 0")


#: A margin is a distance, so in a space adapted to the library (core/adapt.py: centred, projected,
#: blended with neighbours) it is set as a share of that space's median squared distance between two
#: photos (the adapted space is wider than the plain one, where the shipped margin 1.0 is a share of
#: about 0.69). Larger shares close more of the labelled classes' gap and cost the untouched classes
#: more: docs/finetune.md (`benchmarks/finetune_eval.py --sweep`) has the current figures.
ADAPTED_MARGIN_SHARE = 0.76
#: There the library term keeps each photo's neighbour distribution (neighbour_kl) rather than the
#: whole cosine matrix, and mining takes semi-hard negatives: in that space unrelated photos sit near
#: cosine 0 and a photo's first results near 1, augmentation and query expansion read only who is
#: whose neighbour. The anchors ask with query expansion, as `similar` answers there (trained on the
#: photos' own vectors, the expansion afterwards mixed the neighbours the adapter had not moved back
#: in and gave back much of what training won); the adapter's hidden width is the space's dimension
#: and it takes 3x more, 3x smaller steps: on few labels the result then depends far less on the
#: random start. The library term is weighed per photo (``per_photo``): 20 labels then move the
#: library less than 300 do. Compared with the other options in docs/finetune.md's sweep.
ADAPTED = {"mining": "semi-hard", "preserve": "kl", "preserve_weight": 0.25, "per_photo": True,
           "temperature": 0.3, "lr": 3e-4, "epochs": 300}
SCALE_SAMPLE = 2000


def median_squared_distance(vectors: np.ndarray, sample: int = SCALE_SAMPLE, seed: int = 0) -> float:
    """The median squared distance between two (unit) rows: the space's distance scale."""
    x = np.asarray(vectors, np.float32)
    if len(x) > sample:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), sample, replace=False))]
    if len(x) < 2:
        return 2.0
    sims = x @ x.T
    return float(np.median(2.0 - 2.0 * sims[np.triu_indices(len(x), 1)]))


def adapted_options(vectors: np.ndarray, expand: int = 0, expand_alpha: float = 2.0, **given) -> TrainOptions:
    """The options for training on vectors adapted to the library: the margin on their distance
    scale, semi-hard mining, the neighbour-keeping library term, anchors expanded with their
    ``expand`` nearest photos as the library's `similar` expands queries (its k and alpha); what
    the caller gives explicitly wins."""
    chosen = {"margin": round(ADAPTED_MARGIN_SHARE * median_squared_distance(vectors), 3), **ADAPTED,
              "hidden": int(np.asarray(vectors).shape[1]), "expand": expand, "expand_alpha": expand_alpha}
    return TrainOptions(**{**chosen, **given})


@dataclass
class TrainResult:
    adapter: Adapter
    summary: dict[str, Any] = field(default_factory=dict)


def train(  # noqa: PLR0913 - the training API: data, options and hooks, all but the first keywords
    base_vectors: np.ndarray,
    triplets: np.ndarray,
    unlabelled: np.ndarray | None = None,
    options: TrainOptions | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    seed: int = 0,
    pairs: np.ndarray | None = None,
) -> TrainResult:
    """Train an adapter for ``base_vectors`` (N, D) float32 unit rows.

    ``triplets``: (T, 3) ints (anchor, positive, negative) into base_vectors.
    ``pairs``: optional (P, 3) ints (a, b, same in {0, 1}).
    ``unlabelled``: indexes of photos for the preservation term (typically the
    whole library; labelled photos may be included). None means all rows.
    ``progress(step, total, loss)`` is called after every step;
    ``should_stop()`` is polled before every step, and a stop returns the
    adapter as trained so far with ``summary["stopped"] = True``.
    """
    opts = options or TrainOptions()
    x_all = np.ascontiguousarray(base_vectors, dtype=np.float32)
    if x_all.ndim != 2:
        raise ValueError("base_vectors must be an (N, D) array")
    n, dim = x_all.shape
    graph = build_graph(triplets, pairs)
    marked = explicit_triplets(graph, triplets, pairs)
    if len(graph.nodes) and graph.nodes[-1] >= n:
        raise ValueError("a label refers to a row outside base_vectors")
    unl = np.arange(n) if unlabelled is None else np.unique(np.asarray(unlabelled, dtype=np.int64))

    rng = np.random.default_rng(seed)
    model = _seeded_adapter(dim, opts, seed)
    nodes = graph.nodes
    expansion = _Expansion(x_all, nodes, opts.expand, opts.expand_alpha) if opts.expand and len(nodes) else None
    steps_per_epoch = max(1, math.ceil(len(nodes) / opts.batch_size)) if len(nodes) else 1
    total = opts.epochs * steps_per_epoch if len(marked) or len(nodes) else 0
    started = time.perf_counter()
    loop = _Loop(model, torch.from_numpy(x_all), graph, marked, unl, opts, rng, expansion)
    stopped = loop.run(nodes, steps_per_epoch, total if total else 0, progress, should_stop)
    model.eval()
    history = loop.history
    summary = {
        "steps": loop.step,
        "total_steps": total,
        "stopped": stopped,
        "seconds": time.perf_counter() - started,
        "final_loss": history[-1] if history else None,
        "loss_history": history,
        "labelled_photos": int(len(nodes)),
        "components": graph.n_components,
        "marked_triplets": int(len(marked)),
        "implied_triplets": graph.n_implied_triplets(),
        "conflicts": graph.conflicts,
        "seed": seed,
        "options": asdict(opts),
    }
    return TrainResult(adapter=model, summary=summary)


def _seeded_adapter(dim: int, opts: TrainOptions, seed: int) -> Adapter:
    """A fresh adapter whose start depends on ``seed`` only (torch's global generator is left as it was)."""
    saved_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return Adapter(AdapterConfig(dim=dim, kind=opts.kind, hidden=opts.hidden, out_dim=opts.out_dim))
    finally:
        torch.random.set_rng_state(saved_state)


class _Loop:
    """The optimisation: epochs over the labelled photos in random order, one step per batch."""

    def __init__(self, model: Adapter, x: torch.Tensor, graph: Any, marked: np.ndarray, unl: np.ndarray,  # noqa: PLR0913 - the state of one training run, held here so each step takes none
                 opts: TrainOptions, rng: np.random.Generator, expansion: "_Expansion | None") -> None:
        self.model, self.x, self.graph, self.marked, self.unl = model, x, graph, marked, unl
        self.opts, self.rng, self.expansion = opts, rng, expansion
        self.different = torch.from_numpy(graph.different)
        params = [p for p in model.parameters() if p.requires_grad]
        self.optim = torch.optim.AdamW(params, lr=opts.lr, weight_decay=opts.weight_decay)
        self.history: list[float] = []
        self.step = 0

    def run(self, nodes: np.ndarray, steps_per_epoch: int, total: int, progress: ProgressFn | None,
            should_stop: StopFn | None) -> bool:
        """Train; True if ``should_stop`` stopped it."""
        self.model.train()
        for _epoch in range(self.opts.epochs if total else 0):
            order = self.rng.permutation(nodes)
            for s in range(steps_per_epoch):
                if should_stop is not None and should_stop():
                    return True
                self._one(order[s * self.opts.batch_size : (s + 1) * self.opts.batch_size])
                if progress is not None:
                    progress(self.step, total, self.history[-1])
        return False

    def _one(self, batch: np.ndarray) -> None:
        loss = _step_loss(self.model, self.x, self.graph, self.different, batch, self.marked, self.unl, self.opts,
                          self.rng, self.expansion)
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()
        self.step += 1
        self.history.append(float(loss.detach()))


class _Expansion:
    """Each labelled photo's nearest photos in the space trained on (fixed: the neighbours `similar`
    would expand with before training), to build the anchors' expanded queries at every step."""

    def __init__(self, x_all: np.ndarray, nodes: np.ndarray, k: int, alpha: float) -> None:
        from ..expansion import neighbour_rows

        self.row = {int(n): r for r, n in enumerate(nodes)}
        self.neighbours = neighbour_rows(x_all, np.asarray(nodes), k)
        self.alpha = alpha

    def of(self, photos: np.ndarray) -> np.ndarray:
        return self.neighbours[[self.row[int(p)] for p in photos]]


def _step_loss(  # noqa: PLR0913 - one step's inputs, gathered by _Loop; splitting them would hide the loss's terms
    model: Adapter,
    x: torch.Tensor,
    graph: Any,
    different: torch.Tensor,
    batch: np.ndarray,
    marked: np.ndarray,
    unl: np.ndarray,
    opts: TrainOptions,
    rng: np.random.Generator,
    expansion: _Expansion | None = None,
) -> torch.Tensor:
    """One step's loss; rows are gathered once so each photo is embedded once."""
    if len(marked) > opts.triplet_batch:
        marked = marked[rng.choice(len(marked), opts.triplet_batch, replace=False)]
    unl_batch = unl[rng.choice(len(unl), min(opts.preserve_batch, len(unl)), replace=False)] if len(unl) else unl
    anchors = np.unique(np.concatenate([batch, marked[:, 0]])) if expansion is not None else batch[:0]
    around = expansion.of(anchors) if len(anchors) else np.zeros((0, 0), np.int64)
    rows, inverse = np.unique(np.concatenate([batch, marked.ravel(), unl_batch, anchors, around.ravel()]),
                              return_inverse=True)
    emb = model(x[torch.from_numpy(rows)])
    pos_of = torch.from_numpy(inverse)
    nb, nm, nu = len(batch), marked.size, len(unl_batch)
    queries = None
    if len(anchors):  # the anchors' rows replaced by their expanded queries
        at = nb + nm + nu
        own = emb[pos_of[at : at + len(anchors)]]
        near = emb[pos_of[at + len(anchors) :]].view(len(anchors), around.shape[1], -1)
        w = torch.clamp((own[:, None, :] * near).sum(-1), min=0.0) ** expansion.alpha
        expanded = F.normalize(own + (w[..., None] * near).sum(1), dim=1)
        queries = emb.index_copy(0, pos_of[at : at + len(anchors)], expanded)
    loss = emb.sum() * 0.0
    if nm:
        tri = pos_of[nb : nb + nm].view(-1, 3)
        loss = loss + triplet_loss(emb, tri[:, 0], tri[:, 1], tri[:, 2], opts.margin, queries=queries)
    if opts.mining != "none" and nb > 1:
        bidx = pos_of[:nb]
        comp = torch.from_numpy(graph.component_of(batch))
        pos, neg = relation_masks(comp, different)
        a, p, ng = mine(emb[bidx], pos, neg, opts.mining, opts.margin)
        loss = loss + triplet_loss(emb, bidx[a], bidx[p], bidx[ng], opts.margin, queries=queries)
    if opts.preserve != "none" and opts.preserve_weight > 0 and len(unl_batch) > 1:
        uidx = pos_of[nb + nm : nb + nm + nu]
        new = emb[uidx]
        old = x[torch.from_numpy(unl_batch)]
        term = neighbour_kl(new, old, opts.temperature) if opts.preserve == "kl" else gram_mse(new, old)
        weight = opts.preserve_weight * (nu / max(nb, 1) if opts.per_photo else 1.0)
        loss = loss + weight * term
    return loss
