"""A pytest plugin (tests/conftest.py loads it): under CI=true a skipped test fails the run, so a
missing package, photo set or encoder cannot turn tests into silent skips there. On a developer's
machine a skip stays a skip, with its reason printed."""
from __future__ import annotations

import os

_skipped: list[str] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_runtest_logreport(report) -> None:
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if _skipped and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter) -> None:
    if _skipped:
        terminalreporter.section("skipped under CI=true: each one fails the run")
        for line in _skipped:
            terminalreporter.write_line(line)
