"""The Train tab: fine-tuning runs on a worker with progress, a live loss curve, Cancel, and switches model."""
from __future__ import annotations

from support.window import index_and_wait
from PySide6.QtCore import Qt

from photosim.services import labels, models


def _label(window, photos):
    lib = window.shared.lib
    acc = sorted((photos / "accordion").iterdir())
    cam = sorted((photos / "camera").iterdir())
    for i in range(3):
        labels.add_triplet(lib, str(acc[i]), str(acc[i + 1]), str(cam[i]))
    labels.add_pair(lib, str(acc[0]), str(cam[1]), False)


def test_train_button_trains_and_switches_model(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    _label(window, photos)
    view = window.train
    window.tabs.setCurrentWidget(view)
    assert view.train.isEnabled()
    view.epochs.setValue(20)
    qtbot.mouseClick(view.train, Qt.LeftButton)
    assert view.cancel.isEnabled() and not view.train.isEnabled()
    qtbot.waitUntil(lambda: view.task is None, timeout=120000)
    assert view.trained is not None, view.status.text()
    assert len(view.curve.points) >= 2 and all(loss >= 0 for _, loss in view.curve.points)
    assert window.shared.lib.active_model == view.trained.model != 0
    qtbot.waitUntil(lambda: any(view.models.item(i).text().startswith("● ") and
                                f"{view.trained.model}:" in view.models.item(i).text()
                                for i in range(view.models.count())))


def test_cancel_keeps_the_previous_model(qtbot, window, photos):
    index_and_wait(qtbot, window, photos)
    _label(window, photos)
    view = window.train
    view.epochs.setValue(1000)
    qtbot.mouseClick(view.train, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(view._losses) > 0, timeout=60000)
    qtbot.mouseClick(view.cancel, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.task is None, timeout=30000)
    assert view.trained is None and "cancel" in view.status.text()
    assert window.shared.lib.active_model == 0 and len(models.list_models(window.shared.lib)) == 1


def test_automatic_epochs_train_what_the_command_line_trains(qtbot, window, photos):
    """Left on 'automatic', the window passes no option: the model is trained with the options
    `photosim train` picks for this library (an adapted one's differ from the plain defaults)."""
    from photosim.core.train.trainer import ADAPTED, TrainOptions
    from photosim.services.models import model_kind

    index_and_wait(qtbot, window, photos)
    _label(window, photos)
    view = window.train
    view.epochs.setValue(0)
    assert view.epochs.text() == "automatic"
    was = window.shared.lib.active_model
    qtbot.mouseClick(view.train, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.task is None, timeout=120000)
    assert view.trained is not None, view.status.text()
    with window.shared.lib.db.session() as s:
        adapted = model_kind(s, was) == "library"
    expected = ADAPTED["epochs"] if adapted else TrainOptions().epochs
    assert view.trained.summary["options"]["epochs"] == expected
