"""Runs slow work off the GUI thread, with progress and cancel; callbacks arrive on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget


class Progress:
    """Handed to the work function: report progress, and ask whether the user cancelled."""

    def __init__(self, task: Task) -> None:
        self._task = task

    def __call__(self, done: int, total: int) -> None:
        self._task.progressed.emit(done, total)

    def cancelled(self) -> bool:
        return self._task.is_cancelled()


class Task(QObject):
    """One piece of background work. Its signals arrive on the GUI thread."""

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, work: Callable[[Progress], Any]) -> None:
        super().__init__()
        self._work = work
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        """Runs on a worker thread."""
        try:
            result = self._work(Progress(self))
        except Exception as error:  # reported to the GUI, which decides how to show it
            self.failed.emit(error)
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()


class TaskRunner:
    """Runs tasks on worker threads (a plain Python pool: a task's signals still arrive queued on
    the GUI thread) and keeps each task alive until it finishes."""

    def __init__(self, workers: int = 2) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="desk-task")
        self._running: dict[Task, Future[None]] = {}

    def start(
        self,
        work: Callable[[Progress], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[Exception], None],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Task:
        task = Task(work)
        task.succeeded.connect(on_success)
        task.failed.connect(on_failure)
        if on_progress is not None:
            task.progressed.connect(on_progress)
        task.finished.connect(lambda: self._running.pop(task, None))
        self._running[task] = self._executor.submit(task.run)
        return task

    def cancel_all(self) -> None:
        """Ask every running task to stop (each stops at its next check)."""
        for task in list(self._running):
            task.cancel()

    def wait_for_all(self, seconds: float | None = None) -> bool:
        """Block until every task has finished (used when the app closes); False if time ran out."""
        _done, not_done = wait(list(self._running.values()), timeout=seconds)
        return not not_done

    def shutdown(self) -> None:
        """Wait for running tasks, then stop the worker threads."""
        self._executor.shutdown(wait=True)


def run_with_progress(
    tasks: TaskRunner,
    parent: QWidget,
    text: str,
    work: Callable[[Progress], Any],
    on_success: Callable[[Any], None],
    on_failure: Callable[[Exception], None],
    *,
    cancellable: bool = True,
) -> Task:
    """Start `work` in the background behind a progress dialog that closes when it ends; its Cancel
    button asks the work to stop (the work checks `Progress.cancelled()`)."""
    progress = QProgressDialog(text, "Cancel", 0, 0, parent)
    if not cancellable:
        progress.setCancelButton(None)
    progress.setWindowTitle("DigiKnow Desk")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(400)  # quick jobs finish without a flash of a dialog
    progress.setAutoClose(False)
    progress.setAutoReset(False)

    def close() -> None:
        progress.canceled.disconnect()
        progress.close()
        progress.deleteLater()

    def succeeded(result: Any) -> None:
        close()
        on_success(result)

    def failed(error: Exception) -> None:
        close()
        on_failure(error)

    def progressed(done: int, total: int) -> None:
        progress.setMaximum(total)
        progress.setValue(done)

    task = tasks.start(work, succeeded, failed, progressed)
    progress.canceled.connect(task.cancel)
    return task
