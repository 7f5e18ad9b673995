"""Triplet loss and preservation terms on hand-computed cases."""
from __future__ import annotations

import math

import pytest
import torch

from photosim.core.train.loss import gram_mse, neighbour_kl, triplet_loss


def idx(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


EMB = torch.tensor(
    [
        [0.0, 0.0],  # 0
        [1.0, 0.0],  # 1: d(0,1)^2 = 1
        [0.0, 2.0],  # 2: d(0,2)^2 = 4
        [3.0, 0.0],  # 3: d(0,3)^2 = 9, d(1,3)^2 = 4
    ]
)


def test_single_violating_triplet_value() -> None:
    # d_ap = 4, d_an = 1, margin 0.5 -> 4 - 1 + 0.5 = 3.5
    loss = triplet_loss(EMB, idx(0), idx(2), idx(1), margin=0.5)
    assert loss.item() == pytest.approx(3.5)


def test_satisfied_triplet_is_zero() -> None:
    # d_ap = 1, d_an = 9, margin 0.5 -> [1 - 9 + 0.5]_+ = 0
    assert triplet_loss(EMB, idx(0), idx(1), idx(3), margin=0.5).item() == 0.0


def test_inside_margin_counts() -> None:
    # d_ap = 1, d_an = 4 (anchor 0, neg 2), margin 3.5 -> 0.5
    assert triplet_loss(EMB, idx(0), idx(1), idx(2), margin=3.5).item() == pytest.approx(0.5)


def test_mean_and_sum_reductions() -> None:
    a, p, n = idx(0, 0, 1), idx(2, 1, 0), idx(1, 3, 3)
    # rows: 4-1+1=4 ; 1-9+1=0 ; d(1,0)=1 - d(1,3)=4 + 1 = -2 -> 0
    assert triplet_loss(EMB, a, p, n, margin=1.0, reduction="sum").item() == pytest.approx(4.0)
    assert triplet_loss(EMB, a, p, n, margin=1.0, reduction="mean").item() == pytest.approx(4.0 / 3)


def test_gradient_pulls_positive_and_pushes_negative() -> None:
    emb = EMB.clone().requires_grad_(True)
    triplet_loss(emb, idx(0), idx(2), idx(1), margin=0.5).backward()
    # dL/de_p = -2 (e_a - e_p) = -2 * (0, -2) = (0, 4): gradient descent moves p toward a.
    assert torch.allclose(emb.grad[2], torch.tensor([0.0, 4.0]))
    # dL/de_n = 2 (e_a - e_n) = (-2, 0): descent moves n away from a.
    assert torch.allclose(emb.grad[1], torch.tensor([-2.0, 0.0]))


def test_empty_triplets_give_zero_with_graph() -> None:
    emb = EMB.clone().requires_grad_(True)
    loss = triplet_loss(emb, idx(), idx(), idx(), margin=1.0)
    assert loss.item() == 0.0
    loss.backward()
    assert emb.grad is not None


def test_rejects_unknown_reduction_and_length_mismatch() -> None:
    with pytest.raises(ValueError):
        triplet_loss(EMB, idx(0), idx(1), idx(2), margin=1.0, reduction="max")
    with pytest.raises(ValueError):
        triplet_loss(EMB, idx(0, 1), idx(1), idx(2), margin=1.0)


def test_gram_mse_hand_value() -> None:
    old = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    s = math.sqrt(0.5)
    new = torch.tensor([[1.0, 0.0], [s, s]])
    # cosine matrices differ only off-diagonal by s: mean of [0, s^2, s^2, 0] = s^2 / 2
    assert gram_mse(new, old).item() == pytest.approx(0.25)
    assert gram_mse(old, old).item() == 0.0


def test_neighbour_kl_zero_when_unchanged_positive_when_reordered() -> None:
    old = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, 0.3], [0.1, 1.0]]), dim=1)
    assert neighbour_kl(old, old, 0.1).item() == pytest.approx(0.0, abs=1e-6)
    swapped = old[[0, 2, 1]]  # photo 0's nearest neighbour changes
    assert neighbour_kl(swapped, old, 0.1).item() > 0.1
