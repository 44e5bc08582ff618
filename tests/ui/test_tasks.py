"""The background-task helper: results, failures and progress arrive on the GUI thread; cancel is seen."""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from digiknow_desk.ui.tasks import Progress, Task, TaskRunner


def test_success_arrives_on_the_gui_thread_with_progress(qtbot: QtBot) -> None:
    runner = TaskRunner()
    worker_threads: list[int] = []
    results: list[object] = []
    progress: list[tuple[int, int]] = []
    gui_thread = QApplication.instance().thread()
    callback_threads: list[QThread] = []

    def work(report: Progress) -> int:
        worker_threads.append(threading.get_ident())
        for done in range(3):
            report(done, 3)
        return 42

    def on_success(result: object) -> None:
        callback_threads.append(QThread.currentThread())
        results.append(result)

    runner.start(work, on_success, lambda error: None, lambda done, total: progress.append((done, total)))
    qtbot.waitUntil(lambda: results == [42] and len(progress) == 3)
    assert worker_threads[0] != threading.get_ident()
    assert callback_threads == [gui_thread]
    assert progress == [(0, 3), (1, 3), (2, 3)]


def test_failure_is_reported_not_raised(qtbot: QtBot) -> None:
    runner = TaskRunner()
    failures: list[Exception] = []

    def work(_report: Progress) -> None:
        raise ValueError("disk full")

    runner.start(work, lambda result: None, failures.append)
    qtbot.waitUntil(lambda: len(failures) == 1)
    assert isinstance(failures[0], ValueError) and str(failures[0]) == "disk full"


def test_cancel_is_visible_to_the_work(qtbot: QtBot) -> None:
    runner = TaskRunner()
    started = threading.Event()
    release = threading.Event()
    seen: list[bool] = []

    def work(report: Progress) -> None:
        started.set()
        release.wait(5)
        seen.append(report.cancelled())

    task = runner.start(work, lambda result: None, lambda error: None)
    assert started.wait(5)
    task.cancel()
    release.set()
    qtbot.waitUntil(lambda: seen == [True])


def test_emitting_signals_does_not_leak_references(qtbot: QtBot) -> None:
    # PySide6-Essentials 6.12.0 dropped a reference to True on every emit, crashing the app after a
    # few hundred signals ("bool_dealloc"); pyproject.toml excludes it. This catches such a build.
    task = Task(lambda report: None)
    received: list[int] = []
    task.progressed.connect(lambda done, total: received.append(done))
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for done in range(200):
        task.progressed.emit(done, 200)
    assert len(received) == 200
    assert abs(sys.getrefcount(True) - before_true) < 50
    assert abs(sys.getrefcount(None) - before_none) < 50
