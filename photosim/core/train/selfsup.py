"""Self-supervised adapt: learn from unlabelled photos alone.

Pretext task: instance discrimination across augmentations. Two augmented
views of one photo (random crop, flip, colour) must map closer to each other
than to any other photo of the batch (InfoNCE). Augmenting means decoding and
embedding photos again, so the caller supplies ``augment(indexes, rng)`` ->
base vectors of fresh augmented views (the CLI can sample a few thousand
photos rather than the whole library); the clean base vectors always count as
one view.

The adapter is first centred on the library mean (its ``shift``): the mean
direction is shared by every photo and carries no identity, and removing it
alone raises mAP (docs/finetune.md reports the two effects separately). The
same cosine-preservation term as in fine-tuning keeps the pretext from
drifting far from the pretrained geometry. Measured on caltech101-20 the
pretext lowered mAP at every weight tried (InfoNCE on a small library learns
to tell photos apart, classmates included), so the default pretext weight is
0: the shipped adapt is the centring, +0.018 mAP on the shipped embedding.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .adapter import Adapter, AdapterConfig
from .loss import gram_mse
from .trainer import ProgressFn, StopFn, TrainResult

AugmentFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class AdaptOptions:
    """Knobs of the self-supervised adapt; defaults measured in docs/finetune.md."""

    steps: int = 200
    lr: float = 1e-3
    batch_size: int = 256
    temperature: float = 0.1
    hidden: int = 256
    center: bool = True
    pretext_weight: float = 0.0  # measured: any pretext weight lowered mAP; 0 = centring only
    preserve_weight: float = 1.0


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: row i of ``a`` must pick row i of ``b`` among all rows."""
    logits = a @ b.T / temperature
    target = torch.arange(len(a), device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def adapt(
    base_vectors: np.ndarray,
    augment: AugmentFn | None,
    options: AdaptOptions | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    seed: int = 0,
) -> TrainResult:
    """Train a residual adapter on unlabelled ``base_vectors`` (N, D).

    Without ``augment`` (or with ``pretext_weight=0``) only the centring is
    learnt. Callbacks behave as in ``trainer.train``.
    """
    opts = options or AdaptOptions()
    x_np = np.ascontiguousarray(base_vectors, dtype=np.float32)
    n, dim = x_np.shape
    rng = np.random.default_rng(seed)
    saved = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = Adapter(AdapterConfig(dim=dim, kind="residual", hidden=opts.hidden))
    finally:
        torch.random.set_rng_state(saved)
    if opts.center:
        model.shift.copy_(torch.from_numpy(x_np.mean(axis=0)))
    x = torch.from_numpy(x_np)
    use_pretext = augment is not None and opts.pretext_weight > 0 and n > 1
    total = opts.steps if use_pretext else 0
    optim = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=0.0) if total else None
    with torch.no_grad():
        reference = F.normalize(x - model.shift, dim=1)  # geometry to preserve: the centred one
    started = time.perf_counter()
    history: list[float] = []
    stopped = False
    model.train()
    for step in range(1, total + 1):
        if should_stop is not None and should_stop():
            stopped = True
            break
        idx = rng.choice(n, min(opts.batch_size, n), replace=False)
        view = torch.from_numpy(np.asarray(augment(idx, rng), dtype=np.float32))  # type: ignore[misc]
        t = torch.from_numpy(idx)
        clean = model(x[t])
        loss = opts.pretext_weight * info_nce(clean, model(view), opts.temperature)
        if opts.preserve_weight > 0:
            loss = loss + opts.preserve_weight * gram_mse(clean, reference[t])
        optim.zero_grad()  # type: ignore[union-attr]
        loss.backward()
        optim.step()  # type: ignore[union-attr]
        history.append(float(loss.detach()))
        if progress is not None:
            progress(step, total, history[-1])
    model.eval()
    summary = {
        "steps": len(history),
        "total_steps": total,
        "stopped": stopped,
        "seconds": time.perf_counter() - started,
        "final_loss": history[-1] if history else None,
        "loss_history": history,
        "seed": seed,
        "options": asdict(opts),
    }
    return TrainResult(adapter=model, summary=summary)
