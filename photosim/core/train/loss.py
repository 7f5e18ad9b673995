"""Losses for fine-tuning the adapter on user labels.

The triplet loss is the one the labels define:
``L = sum [ ||e(a) - e(p)||^2 - ||e(a) - e(n)||^2 + margin ]_+``, with squared
Euclidean distances between the (unit) output vectors. It takes explicit index
tensors so that the marked triplets and the triplets mined inside a minibatch
go through the same code.

The preservation loss is what keeps the rest of the library from getting
worse: labels teach one notion of similarity, and without a counterweight the
adapter happily reshapes the whole space for the labelled classes (measured:
-0.05 to -0.17 mAP on unlabelled classes). ``gram_mse`` (the default) keeps
the cosine matrix of library photos; ``neighbour_kl`` keeps only each photo's
neighbour distribution (softer; measured weaker on labelled classes).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

REDUCTIONS = ("mean", "sum")


def triplet_loss(  # noqa: PLR0913 - the triplet loss's standard options (margin, reduction, weights), each a keyword
    emb: torch.Tensor,
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float,
    reduction: str = "mean",
    queries: torch.Tensor | None = None,
) -> torch.Tensor:
    """Hinge triplet loss over explicit (a, p, n) rows of ``emb``.

    ``queries``: rows (aligned with ``emb``) that stand for the anchors as queries, e.g. expanded
    with their neighbours as `similar` asks in an adapted library; None: the anchors' own rows.

    ``reduction="sum"`` is the loss exactly as written in the issue; ``"mean"``
    (the trainer's choice) keeps the step size independent of how many
    triplets a batch happens to mine. An empty triplet set gives a zero that
    still carries a gradient graph, so callers can add it unconditionally.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")
    if not (len(anchor) == len(positive) == len(negative)):
        raise ValueError("anchor, positive and negative index tensors must have the same length")
    if len(anchor) == 0:
        return emb.sum() * 0.0
    q = emb if queries is None else queries
    d_ap = ((q[anchor] - emb[positive]) ** 2).sum(dim=1)
    d_an = ((q[anchor] - emb[negative]) ** 2).sum(dim=1)
    hinge = F.relu(d_ap - d_an + margin)
    return hinge.sum() if reduction == "sum" else hinge.mean()


def neighbour_kl(new: torch.Tensor, old: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(old || new) between each photo's softmax distribution over the others.

    ``new`` and ``old`` are the same unlabelled photos after and before the
    adapter (unit rows). Unlike matching the cosine matrix entry by entry, this
    only cares about who is whose neighbour (rankings, which is what mAP
    measures), so the adapter may still shift or scale similarities globally.
    """
    n = new.shape[0]
    if n < 2:
        return new.sum() * 0.0
    eye = torch.eye(n, dtype=torch.bool, device=new.device)
    logits_old = (old @ old.T / temperature).masked_fill(eye, float("-inf"))
    logits_new = (new @ new.T / temperature).masked_fill(eye, float("-inf"))
    log_p = F.log_softmax(logits_old, dim=1)
    log_q = F.log_softmax(logits_new, dim=1)
    p = log_p.exp()
    # Diagonal terms are 0 * (-inf - -inf); zero them explicitly.
    terms = torch.where(eye, torch.zeros_like(p), p * (log_p - log_q))
    # A KL is >= 0; at the identity rounding can leave -1e-9, which a loss shown to people should not.
    return terms.sum(dim=1).mean().clamp_min(0.0)


def gram_mse(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the cosine matrices (the stricter alternative)."""
    return ((new @ new.T - old @ old.T) ** 2).mean()
