"""Library settings: kept in the library file, so every front end and every later process reads them."""
from __future__ import annotations

import pytest

from photosim.cli import main
from photosim.services import UserError, settings
from photosim.store.library import Library


def test_a_setting_survives_reopening_and_resets(tmp_path, capsys):
    lib = Library(str(tmp_path / "lib"))
    assert settings.get(lib, "dupes.threshold") is None and not settings.is_set(lib, "dupes.threshold")
    settings.set_value(lib, "dupes.threshold", "0.85")
    lib.close()
    again = Library(str(tmp_path / "lib"))
    assert settings.get(again, "dupes.threshold") == pytest.approx(0.85)
    settings.reset(again, "dupes.threshold")
    assert settings.get(again, "dupes.threshold") is None
    again.close()


def test_bad_values_and_unknown_keys_are_user_errors(tmp_path):
    lib = Library(str(tmp_path / "lib"))
    with pytest.raises(UserError, match="between 0 and 1"):
        settings.set_value(lib, "dupes.threshold", "1.5")
    with pytest.raises(UserError, match="unknown setting"):
        settings.get(lib, "no.such")
    lib.close()


def test_config_command_sets_and_lists(tmp_path, capsys):
    lib = str(tmp_path / "lib")
    assert main(["--library", lib, "config", "dupes.threshold", "0.9"]) == 0
    assert main(["--library", lib, "config"]) == 0
    out = capsys.readouterr().out
    assert "dupes.threshold = 0.9000" in out and "(default)" not in out.split("dupes.threshold")[1].splitlines()[0]
    assert main(["--library", lib, "config", "dupes.threshold", "nope"]) == 2
    assert "bad value" in capsys.readouterr().err
