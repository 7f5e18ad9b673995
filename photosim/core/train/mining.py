"""Triplet mining inside a minibatch, restricted to relations the labels imply.

Only labelled photos have relations: two photos are *positive* when the labels
put them in one connected component of "same" links, *negative* when some
label says their components differ. Everything else is unknown and never used:
guessing that two unlabelled-relative photos differ would teach the adapter
things the user never said.

Distances are squared Euclidean between the batch's output vectors, the same
quantity the triplet loss uses, so "hardest" means hardest for that loss.
"""
from __future__ import annotations

import torch

from .strategies import STRATEGIES  # noqa: F401 - defined torch-free for the CLI


def pairwise_squared(emb: torch.Tensor) -> torch.Tensor:
    """(B, B) squared Euclidean distances; clamped at 0 against rounding."""
    sq = (emb * emb).sum(dim=1)
    return (sq[:, None] + sq[None, :] - 2.0 * emb @ emb.T).clamp(min=0.0)


def relation_masks(component: torch.Tensor, different: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive and negative (B, B) masks for a batch.

    ``component[i]`` is the label component of batch row i (or -1 for a photo
    with no label); ``different`` is the (C, C) bool matrix of components the
    labels declare different. The diagonal is never positive.
    """
    labelled = component >= 0
    both = labelled[:, None] & labelled[None, :]
    same = (component[:, None] == component[None, :]) & both
    eye = torch.eye(len(component), dtype=torch.bool, device=component.device)
    pos = same & ~eye
    safe = component.clamp(min=0)
    neg = different[safe[:, None], safe[None, :]] & both
    return pos, neg


def mine(
    emb: torch.Tensor,
    pos: torch.Tensor,
    neg: torch.Tensor,
    strategy: str = "batch-hard",
    margin: float = 0.2,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return (anchor, positive, negative) index tensors mined from the batch.

    - ``batch-hard``: for every anchor with a positive and a negative, its
      farthest positive and its nearest negative (one triplet per anchor).
    - ``semi-hard``: for every positive pair (a, p), the nearest negative that
      is still farther than p (d_ap < d_an), preferring ones inside the margin;
      pairs with no such negative fall back to their nearest negative. Gentler
      than batch-hard, which on few labels can chase outliers.
    - ``all``: every valid triplet that still violates the margin.

    Mining runs without gradients; the loss recomputes distances on ``emb``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown mining strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    with torch.no_grad():
        d = pairwise_squared(emb.detach())
        inf = torch.tensor(float("inf"), dtype=d.dtype, device=d.device)
        has = pos.any(dim=1) & neg.any(dim=1)
        if strategy == "batch-hard":
            a = torch.nonzero(has).flatten()
            p = torch.where(pos, d, -inf).argmax(dim=1)[a]
            n = torch.where(neg, d, inf).argmin(dim=1)[a]
            return a, p, n
        a, p = torch.nonzero(pos & has[:, None], as_tuple=True)
        d_ap = d[a, p][:, None]
        d_an = d[a]  # (K, B)
        valid = neg[a]
        if strategy == "all":
            viol = valid & (d_an < d_ap + margin)
            k, n = torch.nonzero(viol, as_tuple=True)
            return a[k], p[k], n
        semi = valid & (d_an > d_ap)
        chosen = torch.where(semi, d_an, inf).argmin(dim=1)
        fallback = torch.where(valid, d_an, inf).argmin(dim=1)
        n = torch.where(semi.any(dim=1), chosen, fallback)
        return a, p, n
