"""Similar photos: the query, a ranked grid with similarity, ✓/✗ to teach, sliders for how many / how similar.

Copies of one photo are one cell with a "3 copies ▸" badge that shows them; the query's own copies are
left out of the grid and named in the title, with a link that shows them first."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QToolButton, QVBoxLayout, QWidget

from ...core.types import Neighbour, Photo
from ...services import labels
from ...services.similar import SimilarAnswer, photo_facts, similar_answer
from ..models.photo_list import Item, PhotoListModel, describe
from ..shared import Shared, error_html, short_name
from ..thumbnails import cache_key
from .. import window_log
from ..widgets.grid import PhotoGrid

#: The query's thumbnail, a side (logical pixels).
QUERY = 96


class SimilarView(QWidget):
    compare_requested = Signal(object, object)  # Photo, Photo

    def __init__(self, shared: Shared, parent=None) -> None:
        super().__init__(parent)
        self.shared = shared
        self.query: str | None = None
        self.query_photo: Photo | None = None
        self.answer: SimilarAnswer | None = None
        self.query_copy_items: list[Item] = []  # the query's own copies, shown first on request
        self.query_copies_shown = False
        self.model = PhotoListModel(shared.thumbs, self)
        shared.follow_locks(self.model)
        self.grid = PhotoGrid(self, buttons=True)
        self.grid.setModel(self.model)
        self.grid.delegate.marked.connect(self.mark)
        self.grid.delegate.copies_clicked.connect(self.model.toggle_copies)
        self.grid.setToolTip("✓ = looks the same to me, ✗ = different. Your marks teach the Train tab.")

        self._build_controls()
        head = QHBoxLayout()
        head.addWidget(self.thumb, 0, Qt.AlignTop)
        head.addWidget(self.title, 1)
        controls = QHBoxLayout()
        for w in (self.how_many, self.min_sim):  # each says what it is: "24 photos", "similarity ≥ 0.00"
            controls.addWidget(w)
        controls.addStretch(1)
        controls.addWidget(self.compare)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addLayout(controls)
        lay.addWidget(self.grid, 1)
        shared.thumbs.ready.connect(self._thumb_ready)
        shared.photos_changed.connect(self.search)
        shared.model_changed.connect(self.search)
        shared.labels_changed.connect(self.refresh_marks)

    def _build_controls(self) -> None:
        """The query's thumbnail and title, how many, how similar, Compare."""
        shared = self.shared
        self.thumb = QLabel(self)
        self.thumb.setFixedSize(QUERY, QUERY)
        self.thumb.setAlignment(Qt.AlignCenter)
        self.title = QLabel("Select a photo (or drop an image file here) to see the photos most like it.", self)
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(160)
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.LinksAccessibleByMouse)
        self.title.linkActivated.connect(lambda _link: self.toggle_query_copies())
        # Spin boxes, not sliders: they keep their size in a narrow pane, take typed values and arrow keys,
        # and say their value themselves.
        self.how_many = QSpinBox(self)
        self.how_many.setRange(1, 200)
        self.how_many.setSuffix(" photos")
        self.how_many.setToolTip("How many similar photos to show")
        self.how_many.setValue(shared.setting("similar/k", 24, int))
        self.min_sim = QDoubleSpinBox(self)
        self.min_sim.setRange(0.0, 1.0)
        self.min_sim.setSingleStep(0.05)
        self.min_sim.setDecimals(2)
        self.min_sim.setPrefix("similarity ≥ ")
        self.min_sim.setToolTip("Show only photos at least this similar (0 = any)")
        self.min_sim.setValue(shared.setting("similar/min_percent", 0, int) / 100)
        self.compare = QToolButton(self)
        self.compare.setText("Compare")
        self.compare.setToolTip("Compare the query with the selected result (or two selected results) side by side")
        self.compare.clicked.connect(self.compare_selected)
        self._debounce = QTimer(self, singleShot=True, interval=150)
        self._debounce.timeout.connect(self.search)
        self.how_many.valueChanged.connect(self._sliders)
        self.min_sim.valueChanged.connect(self._sliders)

    # --- querying -----------------------------------------------------------------------
    def _sliders(self) -> None:
        self.shared.settings.setValue("similar/k", self.how_many.value())
        self.shared.settings.setValue("similar/min_percent", round(self.min_sim.value() * 100))
        if self.query:
            self._debounce.start()

    def set_query(self, path: str, photo: Photo | None = None) -> None:
        self.query = os.path.abspath(path)
        self.query_photo = photo
        self._show_query_thumb()
        self.search()

    def search(self) -> None:
        if not self.query:
            return
        path, k, floor = self.query, self.how_many.value(), self.min_sim.value()
        self.title.setText(f"Searching for photos like <b>{os.path.basename(path)}</b>…")
        lib = self.shared.lib

        def find(ctx):
            answer = similar_answer(lib, path, k, floor)
            return answer, labels.pair_marks(lib, path, [n.photo.id for n in _every(answer)])

        self.shared.run(self, "similar", find, lambda got: self._show(path, *got), self._failed)

    def _failed(self, message: str) -> None:
        self.title.setText(error_html(message, self.palette()))
        self.answer = None
        self.model.set_photos([])

    def _show(self, path: str, answer: SimilarAnswer, marks: dict[int, bool]) -> None:
        if path != self.query:
            return  # an older query answered late
        self.answer, self.query_copies_shown = answer, False

        def item(n: Neighbour, note: str = "") -> Item:
            # the ✓/✗ recorded earlier for this query, so a refresh does not hide them
            return Item(n.photo, n.score, note, marks.get(n.photo.id), [item(c, "copy") for c in n.copies])

        self.model.set_items([item(n) for n in answer.results])
        window_log.log(f"similar {len(answer.results)} {path}")
        self.query_copy_items = [item(c, "copy of the query") for c in answer.query_copies]
        self._title()

    def _title(self) -> None:
        answer, path = self.answer, self.query
        extra = f"<br>{describe(self.query_photo)}" if self.query_photo else ""
        copies = ""
        if answer.query_copies:
            n = len(answer.query_copies)
            copies = (f"<br>This photo has {n} other {'copy' if n == 1 else 'copies'} in the library, left out: "
                      f"<a href='copies'>{'hide' if self.query_copies_shown else 'show'} "
                      f"{'it' if n == 1 else 'them'}</a>")
        # an adapted version shows its similarity placed among the library's own best matches
        scale = ("similarity among this library's best matches: 0.9 = a usual first result, 0 = unrelated"
                 if any(n.shown is not None for n in answer.results) else "similarity: 1.0 = identical")
        self.title.setText(f"<b>{len(answer.results)}</b> photos most like <b>{os.path.basename(path)}</b>"
                           f"{extra}{copies}<br><small>{os.path.dirname(path)}</small>")
        self.title.setToolTip(f"{path}\n{scale}")
        self.grid.setToolTip(f"✓ = looks the same to me, ✗ = different: your marks teach the Train tab.\n{scale}")

    def toggle_query_copies(self) -> None:
        """Show the query's own copies as the first cells (marked "copy of the query"), or hide them."""
        if self.answer is None or not self.answer.query_copies:
            return
        if self.query_copies_shown:
            self.model.remove_items(0, len(self.query_copy_items))
        else:
            self.model.insert_items(0, self.query_copy_items)
        self.query_copies_shown = not self.query_copies_shown
        self._title()

    def _show_query_thumb(self) -> None:
        if not self.query:
            return
        st = os.stat(self.query) if os.path.exists(self.query) else None
        pix = self.shared.thumbs.get(self.query, st.st_size, st.st_mtime_ns) if st else None
        if pix is not None:
            scaled = pix.scaled(self.thumb.size() * pix.devicePixelRatio(), Qt.KeepAspectRatio,
                                Qt.SmoothTransformation)
            scaled.setDevicePixelRatio(pix.devicePixelRatio())
            self.thumb.setPixmap(scaled)
        else:
            self.thumb.setText("…")

    def _thumb_ready(self, key: str) -> None:
        if self.query and os.path.exists(self.query):
            st = os.stat(self.query)
            if key == cache_key(self.query, st.st_size, st.st_mtime_ns):
                self._show_query_thumb()

    # --- labelling ----------------------------------------------------------------------
    def refresh_marks(self) -> None:
        """Labels changed (here or in the Labels tab): show the recorded ✓/✗ of the current results."""
        path, answer = self.query, self.answer
        if not path or answer is None:
            return
        lib = self.shared.lib

        def show(marks: dict[int, bool]) -> None:
            if path == self.query and answer is self.answer:
                for it in self.query_copy_items:
                    it.mark = marks.get(it.photo.id)
                self.model.set_marks(marks)

        self.shared.run(self, "pair marks",
                        lambda ctx: labels.pair_marks(lib, path, [n.photo.id for n in _every(answer)]), show)

    def mark(self, row: int, same: bool) -> None:
        """Record a same/different pair between the query and this result (a copy's cell too)."""
        query, item = self.query, self.model.item(row)
        other = item.photo.path

        def done(_label_id):
            self.model.set_item_mark(item, same)
            self.shared.say(f"recorded: {short_name(other)} is {'the same' if same else 'different'}")
            self.shared.labels_changed.emit()

        self.shared.run(self, "label pair", lambda ctx: labels.add_pair(self.shared.lib, query, other, same), done)

    def compare_selected(self) -> None:
        rows = self.grid.selected_rows()
        if len(rows) == 2:
            self.compare_requested.emit(self.model.photo(rows[0]), self.model.photo(rows[1]))
        elif len(rows) == 1 and self.query_photo is not None:
            self.compare_requested.emit(self.query_photo, self.model.photo(rows[0]))
        elif len(rows) == 1 and self.query:
            # A query from outside the library (a dropped file): read its facts from the file first.
            path, other = self.query, self.model.photo(rows[0])

            def open_compare(photo: Photo) -> None:
                if path == self.query:
                    self.query_photo = photo
                    self.compare_requested.emit(photo, other)

            self.shared.run(self, "read query", lambda ctx: photo_facts(self.shared.lib, path), open_compare)
        else:
            self.shared.say("select one result (to compare with the query) or two results")


def _every(answer: SimilarAnswer) -> list[Neighbour]:
    """Every photo an answer shows or can show: results, their copies, the query's copies."""
    return [*answer.results, *(c for n in answer.results for c in n.copies), *answer.query_copies]
