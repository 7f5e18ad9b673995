"""Fine-tuning: one button runs the training service on a worker, with progress, a live loss chart
(gui/widgets/loss_chart.py) and Cancel; the model versions list switches between the pretrained model and trained ones."""
from __future__ import annotations

import threading

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from ...services import UserError, models
from ...services.can_train import NO_TORCH, training_available, training_service
from ..shared import Shared
from ..widgets.loss_chart import LossChart


class TrainView(QWidget):
    def __init__(self, shared: Shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.task = None
        self.trained = None  # the last services.training.Trained
        self._losses: list[tuple[int, float]] = []
        self._lock = threading.Lock()
        self.train = QPushButton("Train on my labels")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        # 0 is "automatic": the options `photosim train` picks (they follow the library: an adapted
        # one trains longer), so the window and the command line train the same model.
        self.epochs = QSpinBox(self)
        self.epochs.setRange(0, 1000)
        self.epochs.setSpecialValueText("automatic")
        self.epochs.setMinimumWidth(self.epochs.fontMetrics().horizontalAdvance("automatic") + 48)  # + arrows
        self.epochs.setToolTip("Passes over your labels; 'automatic' uses what `photosim train` uses for this library")
        self.epochs.setValue(shared.setting("train/epochs-chosen", 0, int))
        self.progress = QProgressBar(self)
        self.status = QLabel("Mark pairs (✓/✗) or triplets first; training then learns what you call similar.")
        self.status.setWordWrap(True)
        self.curve = LossChart(self)
        self.models = QListWidget(self)
        self.use = QPushButton("Use selected model")
        self.use.clicked.connect(self.use_selected)
        if not training_available():
            self.train.setEnabled(False)
            self.train.setToolTip(NO_TORCH[0].upper() + NO_TORCH[1:])
        self.train.clicked.connect(self.start)
        self.cancel.clicked.connect(self.stop)
        self._redraw = QTimer(self, interval=100)  # the loss arrives from the worker; draw at 10 Hz
        self._redraw.timeout.connect(self._draw)

        row = QHBoxLayout()
        row.addWidget(QLabel("Epochs:"))
        row.addWidget(self.epochs)
        row.addWidget(self.train)
        row.addWidget(self.cancel)
        row.addWidget(self.progress, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.curve, 2)
        lay.addWidget(QLabel("<b>Model versions</b> (0 = pretrained; trained ones learn from your labels)"))
        lay.addWidget(self.models, 1)
        lay.addWidget(self.use, 0, Qt.AlignRight)
        shared.model_changed.connect(self.refresh_models)
        self.refresh_models()

    # --- training -----------------------------------------------------------------------
    def start(self) -> None:
        if self.task is not None:
            return
        try:
            service = training_service()
        except UserError as exc:
            self.shared.error(str(exc))
            return
        epochs = self.epochs.value()
        self.shared.settings.setValue("train/epochs-chosen", epochs)
        given = {"epochs": epochs} if epochs else {}
        self._losses = []
        self.curve.set_points([])
        self.trained = None
        self.train.setEnabled(False)
        self.cancel.setEnabled(True)
        self.status.setText("Training…")

        def on_loss(step: int, loss: float) -> None:  # worker thread: only append under the lock
            with self._lock:
                self._losses.append((step, float(loss)))

        self.task = self.shared.run(self, "train", lambda ctx: service.train(self.shared.lib, ctx, on_loss, **given),
                                    self._done, self._failed, self._progress)
        self._redraw.start()

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Stopping…")

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setMaximum(max(total, 1) if total else 0)
        self.progress.setValue(done)
        self.status.setText(text)

    def _draw(self) -> None:
        with self._lock:
            points = list(self._losses)
        self.curve.set_points(points)

    def _finish(self) -> None:
        self.task = None
        self._redraw.stop()
        self._draw()
        self.train.setEnabled(True)
        self.cancel.setEnabled(False)

    def _done(self, done) -> None:  # a services.training.Trained (torch is imported only to train)
        self._finish()
        self.trained = done
        self.progress.setMaximum(1)
        self.progress.setValue(1)
        self.status.setText(f"Done: model {done.model} is now in use "
                            f"({done.pairs} pairs, {done.triplets} triplets).")
        self.shared.model_changed.emit()

    def _failed(self, message: str) -> None:
        self._finish()
        self.progress.setMaximum(1)
        self.progress.setValue(0)
        self.status.setText(message)

    # --- model versions -----------------------------------------------------------------
    def refresh_models(self) -> None:
        self.shared.run(self, "models", lambda ctx: models.list_models(self.shared.lib), self._show_models)

    def _show_models(self, rows: list[models.ModelRecord]) -> None:
        self.models.clear()
        for m in rows:
            item = QListWidgetItem(f"{'● ' if m.active else '   '}{m.id}: {m.name}  ({m.vectors} vectors)")
            item.setData(Qt.UserRole, m.id)
            self.models.addItem(item)

    def use_selected(self) -> None:
        item = self.models.currentItem()
        if item is None:
            return
        model_id = item.data(Qt.UserRole)
        self.shared.run(self, "use model", lambda ctx: models.use_model(self.shared.lib, model_id),
                        lambda m: (self.shared.say(f"now using model {m.id}"), self.shared.model_changed.emit()))
