"""The test suite's own rule: in CI a missing set of shared photos fails the run, elsewhere it skips."""
from __future__ import annotations

import pytest

import helpers


def test_missing_shared_photos_fail_in_ci_and_skip_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "CALTECH", tmp_path / "not here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must provide them"):
        helpers.caltech_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="shared photos not found"):
        helpers.caltech_or_skip()
