"""Duplicate-threshold calibration: best F1 on the user's duplicate decisions."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photosim.cli import main
from photosim.services.calibration import best_threshold

from support.helpers import copy_photos


def test_best_threshold_separates_decisions_and_prefers_the_higher_on_ties():
    pos = np.array([0.97, 0.95, 0.93], np.float32)
    neg = np.array([0.80, 0.85, 0.91], np.float32)
    c = best_threshold(pos, neg)
    assert c.f1 == 1.0 and c.precision == 1.0 and c.recall == 1.0
    assert c.threshold == pytest.approx(0.93)


def test_best_threshold_with_overlap_reports_estimated_precision():
    pos = np.array([0.97, 0.95, 0.90], np.float32)
    neg = np.array([0.92, 0.80], np.float32)
    c = best_threshold(pos, neg)
    # 0.90 keeps all 3 positives but admits one negative: P 0.75, R 1.0, F1 0.857; 0.95: P 1, R 0.667, F1 0.8
    assert c.threshold == pytest.approx(0.90) and c.precision == pytest.approx(0.75)


def test_calibrate_from_trash_and_not_duplicate_decisions(tmp_path, capsys, caltech):
    tree = copy_photos(tmp_path / "photos", classes=("anchor", "bonsai"), per_class=6)
    for name in ("anchor", "bonsai"):
        src = sorted((tree / name).iterdir())[0]
        im = Image.open(src)
        im.resize((im.width // 2, im.height // 2)).save(tree / name / "half.jpg", quality=70)
    lib = str(tmp_path / "lib")
    assert main(["--library", lib, "index", "-q", str(tree)]) == 0
    capsys.readouterr()
    assert main(["--library", lib, "dupes", "--calibrate"]) == 2
    assert "not enough duplicate decisions" in capsys.readouterr().err

    for name in ("anchor", "bonsai"):
        assert main(["--library", lib, "trash", str(tree / name / "half.jpg")]) == 0
        a, b, c = sorted((tree / name).iterdir())[1:4]
        assert main(["--library", lib, "label", "not-duplicate", str(a), str(b)]) == 0
        assert main(["--library", lib, "label", "not-duplicate", str(b), str(c)]) == 0
    capsys.readouterr()
    assert main(["--library", lib, "dupes", "--calibrate"]) == 0
    out = capsys.readouterr().out
    assert "estimated precision 1.00" in out and "now the default" in out
