"""The first screen of a new library: add a folder, or try the demo photos."""
from __future__ import annotations


from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from ...services.demo import demo_folder, demo_photos
from ..shared import ask_for_folder


class WelcomeView(QWidget):
    folder_chosen = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        title = QLabel("<h1>Welcome to photosim</h1>")
        text = QLabel("photosim finds <b>similar</b> photos and <b>duplicates</b> in your own folders, "
                      "and learns what you call similar from the pairs you mark.<br>"
                      "Nothing leaves this computer, and no photo is ever deleted: removed photos go to a "
                      "quarantine you can undo.")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignCenter)
        self.add = QPushButton("Add a folder…")
        self.add.setToolTip("Choose a folder of photos (your Pictures folder is a good start)")
        self.demo = QPushButton("Try the demo photos")
        self.demo_path = demo_folder()
        if self.demo_path is None:
            self.demo.setEnabled(False)
            self.demo.setToolTip("The demo photos are not part of this installation")
        else:
            self.demo.setToolTip(f"Index the {len(demo_photos(self.demo_path))} small demo photos")
        for b in (self.add, self.demo):
            b.setMinimumSize(260, 48)
            f = b.font()
            f.setPointSizeF(f.pointSizeF() * 1.2)
            b.setFont(f)
        self.add.clicked.connect(self.choose)
        self.demo.clicked.connect(lambda: self.folder_chosen.emit(self.demo_path))
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        for w in (title, text):
            lay.addWidget(w, 0, Qt.AlignHCenter)
        lay.addSpacing(24)
        lay.addWidget(self.add, 0, Qt.AlignHCenter)
        lay.addWidget(self.demo, 0, Qt.AlignHCenter)
        lay.addStretch(3)
        # A fixed width: a word-wrapped label centred by the layout otherwise gets its one-line
        # width but not the height of its wrapped lines, and the text was cut after two lines
        # (seen in the offscreen screenshots; layouts skip heightForWidth for aligned items).
        # 560: within the room the window leaves at 1024 pixels with the triplet slots open.
        text.setFixedWidth(560)
        text.setMinimumHeight(text.heightForWidth(560))

    def choose(self) -> None:
        folder = ask_for_folder(self)
        if folder:
            self.folder_chosen.emit(folder)
