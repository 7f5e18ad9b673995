"""The training chart: the loss at every step and its smoothed trend on labelled axes (pyqtgraph), and words
for what the curve means when it reaches 0: every marked triplet and pair is then satisfied."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

#: A loss this small is 0: the margin of every marked triplet is met.
SATISFIED = 1e-6


def smoothed(values: np.ndarray) -> np.ndarray:
    """An exponential moving average over about a tenth of the steps (at least 5): the trend through the
    noise of mini-batches."""
    if len(values) == 0:
        return values
    alpha = 2.0 / (max(5, len(values) // 10) + 1)
    out = np.empty_like(values)
    acc = values[0]
    for i, v in enumerate(values):
        acc = alpha * v + (1 - alpha) * acc
        out[i] = acc
    return out


def satisfied_from(steps: list[int], losses: list[float]) -> int | None:
    """The step from which the loss stayed 0 to the end, if that came before the last step."""
    at = None
    for s, v in zip(steps, losses):
        if v <= SATISFIED:
            at = s if at is None else at
        else:
            at = None
    return at if at is not None and at < steps[-1] else None


def describe(points: list[tuple[int, float]]) -> str:
    if len(points) < 2:
        return "The loss appears here while training runs: it falls as the model learns your marks."
    steps, losses = [s for s, _ in points], [v for _, v in points]
    done = satisfied_from(steps, losses)
    if done is not None:
        return (f"All your marked triplets and pairs are satisfied after step {done}: the loss stayed at 0 "
                "from there (nothing left to learn from these marks).")
    first, last = float(np.mean(losses[: max(1, len(losses) // 10)])), float(smoothed(np.array(losses))[-1])
    change = f"fell from {first:.3g} to {last:.3g}" if last < first else f"is {last:.3g} (from {first:.3g})"
    return f"Step {steps[-1]}: the loss {change} (the smoothed line)."


class LossChart(QWidget):
    """Raw loss (thin) and its smoothed trend (thick) against the step, redrawn as points arrive."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        pal = self.palette()
        self.plot = pg.PlotWidget(background=pal.color(QPalette.Base))
        self.plot.setMinimumHeight(160)
        text = pal.color(QPalette.Text)
        for side, label in (("left", "loss"), ("bottom", "training step")):
            axis = self.plot.getAxis(side)
            axis.setPen(pal.color(QPalette.Mid))
            axis.setTextPen(text)
            axis.setLabel(label, color=text.name())  # after the pens, which restyle the label
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.addLegend(offset=(-10, 10), labelTextColor=text)
        self.raw = self.plot.plot([], [], pen=pg.mkPen(pal.color(QPalette.Mid), width=1), name="loss at each step")
        self.trend = self.plot.plot([], [], pen=pg.mkPen(pal.color(QPalette.Highlight), width=3), name="smoothed")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.note = QLabel(describe([]))
        self.note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.note)
        self.points: list[tuple[int, float]] = []

    def set_points(self, points: list[tuple[int, float]]) -> None:
        self.points = list(points)
        steps = np.array([s for s, _ in points], dtype=float)
        losses = np.array([v for _, v in points], dtype=float)
        self.raw.setData(steps, losses)
        self.trend.setData(steps, smoothed(losses))
        if len(points):
            self.plot.setYRange(0.0, max(float(losses.max()), SATISFIED) * 1.05, padding=0)
        self.note.setText(describe(self.points))
