"""What the main window does with the trash (refuse before asking, ask once, undo) and with files dropped
on it from a file manager: mixed into MainWindow, which owns the grids, the status bar and the views these
act on."""
from __future__ import annotations

import os

from PySide6.QtWidgets import QMessageBox

from ..core.scan import is_photo_name
from ..core.types import Photo
from ..services import trash as trash_service
from ..services.wording import human_bytes
from . import window_log
from .models.photo_list import paths_from_mime
from .shared import short_name


class TrashActions:
    # --- trash and undo ------------------------------------------------------------------
    def _check_trash(self, grid) -> None:
        """Ask the trash's rules about the selection (on a worker) and offer the move only when they allow
        it: a protected photo or the last copy of a photo is refused before any question."""
        photos = [p for p in self.selected_in(grid) if isinstance(p, Photo)]
        self._trash_grid = grid
        # Checks run on pool threads and may end out of order: only the newest one's answer is shown.
        self._trash_check = asked = getattr(self, "_trash_check", 0) + 1
        lib = self.shared.lib

        def show(why: str | None) -> None:
            if asked == self._trash_check:
                self._set_trash_allowed(grid, photos, why)

        self._set_trash_allowed(grid, photos, None)
        if photos:
            self.shared.run(self, "may trash", lambda ctx: trash_service.refusal(lib, photos), show,
                            on_error=lambda m: None)

    def _set_trash_allowed(self, grid, photos: list[Photo], why: str | None) -> None:
        self.trash_refusal = why
        self.trash_action.setEnabled(bool(photos) and why is None)
        self.trash_action.setToolTip(why or "Move the selected photos to the trash (Undo puts them back)")
        if grid is self.duplicates.grid:
            self.duplicates.set_trash_refusal(why)

    def trash_selection(self) -> None:
        grid = next((g for g in self.grids() if g.hasFocus()), getattr(self, "_trash_grid", self.library.grid))
        self.confirm_trash(self.selected_in(grid))

    def confirm_trash(self, photos: list[Photo]) -> None:
        """Refuse before asking: the trash's rules are asked first (on a worker); only a move they allow is
        put to the person, and `trash` checks again under the lock."""
        photos = [p for p in photos if isinstance(p, Photo)]
        if not photos:
            return
        lib = self.shared.lib
        self.shared.run(self, "may trash", lambda ctx: trash_service.refusal(lib, photos),
                        lambda why: self.shared.error(why) if why else self._ask_trash(photos))

    def _ask_trash(self, photos: list[Photo]) -> None:
        total = sum(p.size for p in photos)
        what = short_name(photos[0].path) if len(photos) == 1 else f"{len(photos)} photos"
        window_log.log(f"asked move {what} to the trash")
        answer = QMessageBox.question(
            self, "Move to trash",
            f"Move {what} ({human_bytes(total)}) to the trash?\n\n"
            "They go to a quarantine folder in the library; Undo (Ctrl+Z) puts them back.",
            QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return
        paths = [p.path for p in photos]
        self.shared.run(self, "trash", lambda ctx: trash_service.trash(self.shared.lib, paths, ctx=ctx), self._trashed)

    def _trashed(self, moved) -> None:
        self.shared.say(f"moved {len(moved)} photo(s) to the trash — Ctrl+Z puts them back")
        self.shared.photos_changed.emit()

    def undo(self) -> None:
        self.shared.run(self, "undo", lambda ctx: trash_service.undo(self.shared.lib, ctx), self._undone)

    def _undone(self, restored) -> None:
        blocked = getattr(restored, "blocked", [])
        if blocked:
            original, now, why = blocked[0]
            QMessageBox.warning(
                self, "Some photos could not go back",
                f"Restored {len(restored)} photo(s); {len(blocked)} could not go back yet.\n\n"
                f"{original}: {why}.\nIt is safe in the quarantine at {now}.\n\n"
                "Fix that and press Undo (Ctrl+Z) again: only what is left is tried.")
        self.shared.say(f"restored {len(restored)} photo(s)"
                        + (f"; {len(blocked)} could not go back yet (Undo again retries)" if blocked else ""))
        self.shared.photos_changed.emit()



class FileDrops:
    # --- drops from the file manager ------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if paths_from_mime(event.mimeData()):
            event.acceptProposedAction()  # every drop gets an answer, a refusal too

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = paths_from_mime(event.mimeData())
        if not paths:
            return
        event.acceptProposedAction()
        photo = next((p for p in paths if is_photo_name(p) and os.path.isfile(p)), None)  # what the indexer reads
        folder = next((p for p in paths if os.path.isdir(p)), None)
        if photo:
            self.shared.query_requested.emit(photo)
        elif folder:
            answer = QMessageBox.question(self, "Add a folder", f"Add {folder} to the library and index its photos?",
                                          QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Yes)
            if answer == QMessageBox.Yes:
                self.index([folder])
        else:
            self.shared.error(f"{os.path.basename(paths[0])} is not a photo photosim reads "
                              "(JPEG, PNG, TIFF, WebP, HEIC or camera RAW): drop a photo to see photos like it, "
                              "or a folder to add it")

