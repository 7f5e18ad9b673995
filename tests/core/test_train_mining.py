"""Mining picks the known hardest pairs on toy vectors, within label relations only."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from photosim.core.train.mining import mine, pairwise_squared, relation_masks
from photosim.core.train.pairs import build_graph, explicit_triplets

# Two classes on a line. Class A = rows 0, 1, 2; class B = rows 3, 4.
# Positions chosen so that every hardest pair is unique.
POS = torch.tensor([[0.0], [1.0], [3.0], [3.5], [6.0]])
COMP = torch.tensor([0, 0, 0, 1, 1])
DIFF = torch.tensor([[False, True], [True, False]])


def masks() -> tuple[torch.Tensor, torch.Tensor]:
    return relation_masks(COMP, DIFF)


def test_relation_masks() -> None:
    pos, neg = masks()
    assert not pos.diagonal().any()
    assert pos[0, 1] and pos[3, 4] and not pos[0, 3]
    assert neg[0, 3] and neg[4, 2] and not neg[0, 1] and not neg[0, 0]


def test_unknown_relations_are_never_used() -> None:
    comp = torch.tensor([0, 0, -1, 1])  # row 2 is unlabelled
    diff = torch.tensor([[False, False], [False, False]])  # nothing says 0 and 1 differ
    pos, neg = relation_masks(comp, diff)
    assert not neg.any()
    assert not pos[2].any() and not pos[:, 2].any()


def test_batch_hard_picks_farthest_positive_and_nearest_negative() -> None:
    pos, neg = masks()
    a, p, n = mine(POS, pos, neg, "batch-hard")
    got = {int(i): (int(j), int(k)) for i, j, k in zip(a, p, n)}
    # anchor 0: positives 1 (d=1), 2 (d=9) -> 2; negatives 3 (12.25), 4 (36) -> 3
    assert got[0] == (2, 3)
    # anchor 2: positives 0 (9), 1 (4) -> 0; negatives 3 (0.25), 4 (9) -> 3
    assert got[2] == (0, 3)
    # anchor 4: positive 3; negatives 0 (36), 1 (25), 2 (9) -> 2
    assert got[4] == (3, 2)
    assert len(got) == 5


def test_semi_hard_prefers_negative_just_beyond_positive() -> None:
    pos, neg = masks()
    a, p, n = mine(POS, pos, neg, "semi-hard", margin=5.0)
    chosen = {(int(i), int(j)): int(k) for i, j, k in zip(a, p, n)}
    # (0, 1): d_ap = 1; negatives 3 (12.25), 4 (36) both farther -> nearest of them: 3
    assert chosen[(0, 1)] == 3
    # (4, 3): d_ap = 6.25; negatives 2 (9), 1 (25), 0 (36) farther -> 2
    assert chosen[(4, 3)] == 2
    # (2, 0): d_ap = 9; negative 3 (0.25) closer, 4 (9) not farther -> no semi-hard: falls back to nearest, 3
    assert chosen[(2, 0)] == 3
    # (3, 4): d_ap = 6.25; negatives 2 (0.25), 1 (6.25), 0 (12.25): only 0 is farther -> 0
    assert chosen[(3, 4)] == 0


def test_all_returns_only_violating_triplets() -> None:
    pos, neg = masks()
    a, p, n = mine(POS, pos, neg, "all", margin=0.5)
    d = pairwise_squared(POS)
    assert len(a) > 0
    assert torch.all(d[a, p] - d[a, n] + 0.5 > 0)
    # (0, 1, 4): 1 - 36 + 0.5 < 0, must not be there
    assert not any((int(i), int(j), int(k)) == (0, 1, 4) for i, j, k in zip(a, p, n))


def test_unknown_strategy() -> None:
    pos, neg = masks()
    with pytest.raises(ValueError):
        mine(POS, pos, neg, "hardest")


def test_transitivity_builds_components_and_triplets() -> None:
    # same(0,1), same(1,2) via triplets; different(0,5); pair says same(5,6), different(2,7)
    triplets = np.array([[0, 1, 5], [1, 2, 5]])
    pairs = np.array([[5, 6, 1], [2, 7, 0]])
    g = build_graph(triplets, pairs)
    comp = g.component_of(np.array([0, 1, 2, 5, 6, 7, 9]))
    assert comp[0] == comp[1] == comp[2]
    assert comp[3] == comp[4] != comp[0]
    assert comp[6] == -1
    assert g.different[comp[0], comp[3]] and g.different[comp[0], comp[5]]
    assert not g.different[comp[3], comp[5]]  # nobody said 5 and 7 differ
    rows = {tuple(r) for r in explicit_triplets(g, triplets, pairs).tolist()}
    # same(2, 0), same(2, 1) and different(2, 7) give (2, 0, 7) and (2, 1, 7)
    assert {(0, 1, 5), (1, 2, 5), (2, 0, 7), (2, 1, 7)} <= rows
    # components: {0,1,2} x3 with 6 ordered pairs, different from {5,6} (2) and {7} (1);
    # {5,6}: 2 pairs x 3; {7}: none -> 6*3 + 2*3 = 24
    assert g.n_implied_triplets() == 24


def test_contradicting_label_is_dropped_and_counted() -> None:
    g = build_graph(np.array([[0, 1, 2], [1, 2, 3]]), np.array([[0, 2, 0]]))
    assert g.conflicts == 2  # (0, 2) different twice, while 0~1~2 are one component
    # only the consistent "different" survives: {0, 1, 2} vs {3}
    c = g.component_of(np.array([0, 3]))
    assert g.different[c[0], c[1]] and g.different.sum() == 2
