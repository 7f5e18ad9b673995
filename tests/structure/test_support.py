"""The test suite's own rule: in CI a missing set of shared photos fails the run, elsewhere it skips."""
from __future__ import annotations

import pytest

import support.helpers as helpers


def test_missing_shared_photos_fail_in_ci_and_skip_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "CALTECH", tmp_path / "not here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must provide them"):
        helpers.caltech_or_skip()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="shared photos not found"):
        helpers.caltech_or_skip()


def test_under_ci_a_skipped_test_fails_the_run(tmp_path):
    """support/ci.py, run on a test file of its own: the same skip passes outside CI and fails in it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    (tmp_path / "test_one.py").write_text("import pytest\n\ndef test_x():\n    pytest.skip('no encoder here')\n")
    env = {**os.environ, "PYTHONPATH": str(tests)}
    run = lambda ci: subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "support.ci", "-p", "no:cacheprovider",  # noqa: E731
                                     str(tmp_path / "test_one.py")], capture_output=True, text=True, cwd=tmp_path,
                                    env={**env, "CI": ci}, timeout=120)
    outside, inside = run(""), run("true")
    assert outside.returncode == 0, outside.stdout
    assert inside.returncode == 1 and "no encoder here" in inside.stdout, inside.stdout
