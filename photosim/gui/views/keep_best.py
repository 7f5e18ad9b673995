""""Keep the best in every group" of the Duplicates view: plan on a worker, ask once with the count and
size, move with progress and Stop, one undo step. Mixed into DuplicatesView, which owns the groups, the
scope menu, the summary line and the buttons these use."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QMessageBox

from ...services.cleanup import RemovalPlan, plan_removal, remove_copies
from ...services.trash import Removal
from ...services.wording import human_bytes

#: What "Keep the best in every group" may take (services/cleanup.py): bursts are different moments and a
#: RAW + JPEG pair one capture, so neither is taken unless chosen here.
SCOPES = {"Exact and near copies": ("exact", "near"), "Exact copies only": ("exact",),
          "Copies and bursts (all but the best shot)": ("exact", "near", "burst"),
          "Bursts only (all but the best shot)": ("burst",),
          "RAW + JPEG pairs (the format rule's choice)": ("raw+jpeg",)}


class KeepTheBest:
    # --- keep the best in every group, at once ------------------------------------------------
    def keep_best_everywhere(self) -> None:
        """Plan on a worker (it looks at every file), ask once with the count and bytes, then move
        them all as one undo step."""
        kinds = SCOPES[self.scope.currentText()]
        groups = list(self.groups)
        self.keep_best.setEnabled(False)
        self.shared.run(self, "plan removal", lambda ctx: plan_removal(groups, kinds), self._confirm_plan,
                        on_error=self._removal_failed)

    def _confirm_plan(self, plan: RemovalPlan) -> None:
        self.last_plan = plan
        self.keep_best.setEnabled(True)
        if not plan.photos:
            self.shared.say("nothing to remove: every group keeps all it has (keepers and protected folders)")
            return
        notes = []
        if plan.skipped:
            notes.append(f"{len(plan.skipped)} photo(s) changed since indexing are left where they are.")
        if plan.untouched:
            notes.append(f"{len(plan.untouched)} group(s) are left alone (protected, or the keeper changed).")
        answer = QMessageBox.question(
            self, "Keep the best in every group",
            f"Move {len(plan.photos)} photo(s) ({human_bytes(plan.bytes)}) from {plan.groups} group(s) to the trash?"
            f"\n\nEvery group keeps its ★ photos and its protected photos"
            f"{' (a burst: its best shot)' if 'burst' in plan.kinds else ''}. {' '.join(notes)}\n\n"
            "They go to a quarantine folder in the library; Undo (Ctrl+Z) puts them all back at once.",
            QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        if answer != QMessageBox.Yes:
            return
        self.keep_best.setEnabled(False)
        self.stop.show()
        self.summary.setText(f"Moving {len(plan.photos)} photo(s) to the trash…")
        self._removal_started = time.monotonic()
        self._removal_task = self.shared.run(self, "keep the best", lambda ctx: remove_copies(self.shared.lib, plan, ctx),
                                             self._removed, on_error=self._removal_failed,
                                             on_progress=self._removal_progress)

    def stop_removal(self) -> None:
        if self._removal_task is not None:
            self._removal_task.cancel()
            self.stop.setEnabled(False)
            self.summary.setText("Stopping…")

    def _removal_progress(self, done: int, total: int, text: str) -> None:
        elapsed = time.monotonic() - self._removal_started
        rate = done / elapsed if elapsed > 0.2 else 0.0
        eta = f", about {int((total - done) / rate)} s left" if rate > 0 and done < total else ""
        self.summary.setText(f"Moving to the trash: {done:,}/{total:,} · {rate:.0f} photos/s{eta}")

    def _removal_ended(self) -> None:
        self._removal_task = None
        self.stop.hide()
        self.stop.setEnabled(True)

    def _removed(self, result: Removal) -> None:
        self._removal_ended()
        self.last_removal = result
        skipped = f"; {len(result.skipped)} skipped (changed since indexing)" if result.skipped else ""
        state = "stopped: " if result.cancelled else ""
        self.shared.say(f"{state}moved {len(result.moved)} photo(s) ({human_bytes(result.bytes)}) to the trash{skipped}"
                        " — Ctrl+Z puts them all back")
        self.shared.photos_changed.emit()

    def _removal_failed(self, message: str) -> None:
        self._removal_ended()
        self.keep_best.setEnabled(bool(self.groups))
        self.shared.error(message)

