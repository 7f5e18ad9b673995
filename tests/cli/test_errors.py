"""What a failure looks like at the command line (and in the window, which asks services/errors.py
the same question): the person's fault is one line and status 2; a bug says it is one, keeps its
traceback in the error log and exits 70."""
from __future__ import annotations

import argparse
import errno
import subprocess
import sys
from pathlib import Path

from photosim.cli.main import run
from photosim.services import UserError
from photosim.services.errors import EXIT_BUG, EXIT_FAILED, EXIT_USER, understand

ROOT = Path(__file__).resolve().parents[2]


def _args(tmp_path: Path) -> argparse.Namespace:
    return argparse.Namespace(library=str(tmp_path / "lib"), json=False)


def test_a_user_error_is_one_line_and_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PHOTOSIM_CACHE", str(tmp_path / "cache"))

    def handler(args):
        raise UserError("no such file or folder: /nowhere")

    assert run(handler, _args(tmp_path)) == EXIT_USER
    err = capsys.readouterr().err
    assert err == "photosim: no such file or folder: /nowhere\n"
    assert not (tmp_path / "cache" / "error.log").exists()


def test_an_internal_check_failing_is_called_a_bug_with_its_traceback_logged(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PHOTOSIM_CACHE", str(tmp_path / "cache"))

    def handler(args):
        raise ValueError("expected an (N, 1280) array, got (3, 64)")  # as core/adapt.py checks its input

    assert run(handler, _args(tmp_path)) == EXIT_BUG == 70
    err = capsys.readouterr().err
    log = tmp_path / "cache" / "error.log"
    assert err.count("\n") == 1 and "a bug in photosim" in err and str(log) in err and "Traceback" not in err
    assert "Traceback" in log.read_text() and "expected an (N, 1280) array" in log.read_text()


def test_an_os_error_is_the_world_one_line_status_1_and_logged(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOSIM_CACHE", str(tmp_path / "cache"))
    try:
        raise PermissionError(errno.EACCES, "Permission denied", "/photos/x.jpg")
    except PermissionError as exc:
        failure = understand(exc)
    assert failure.message == "Permission denied: /photos/x.jpg" and failure.status == EXIT_FAILED
    assert not failure.bug and Path(failure.log).exists()


def test_a_real_command_with_a_bad_option_value_stays_the_persons_fault(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "photosim.cli", "--library", str(tmp_path / "lib"), "config",
                           "dupes.threshold", "2"], capture_output=True, text=True, cwd=ROOT,
                          env={"PHOTOSIM_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == EXIT_USER, proc.stderr
    assert proc.stderr.startswith("photosim: bad value for dupes.threshold") and "bug" not in proc.stderr
