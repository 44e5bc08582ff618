"""Child process for the start-up benchmark: shows a window, prints seconds to first paint and peak memory.

`python -m bench.first_window app DB` shows DigiKnow Desk's main window on DB;
`python -m bench.first_window bare ROWS` shows a bare PySide6 window with a table of ROWS rows.
"""

from __future__ import annotations

import sys
import time

STARTED = time.perf_counter()

from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMainWindow, QTableView, QWidget  # noqa: E402


class _FirstPaint(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self._app = app
        self.seconds = 0.0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.seconds:
            # Finish this paint first, then stop the clock.
            QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        if not self.seconds:
            self.seconds = time.perf_counter() - STARTED
            self._app.quit()


class _BareModel(QAbstractTableModel):
    def __init__(self, rows: int) -> None:
        super().__init__()
        self._rows = [(f"TAB-{i:04d}", "Tablet", "Available", "Samsung Galaxy Tab A8") for i in range(rows)]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 4

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return self._rows[index.row()][index.column()] if role == Qt.ItemDataRole.DisplayRole else None


def _peak_megabytes() -> float:
    try:
        import resource  # POSIX only: the benchmark runs on the Linux build machine
    except ImportError:
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(kind: str, argument: str) -> None:
    app = QApplication([sys.argv[0]])
    watcher = _FirstPaint(app)
    window: QWidget
    if kind == "bare":
        window = QMainWindow()
        table = QTableView()
        table.setModel(_BareModel(int(argument)))
        window.setCentralWidget(table)
        window.resize(1280, 800)
    else:
        from digiknow_desk.app import open_services
        from digiknow_desk.config import load_config
        from digiknow_desk.domain.staff import setup_staff
        from digiknow_desk.ui.main_window import MainWindow
        from digiknow_desk.ui.tasks import TaskRunner

        services = open_services(load_config(argument), create=False)

        services.desk.staff = setup_staff("Benchmark")
        window = MainWindow(services, TaskRunner())
    app.installEventFilter(watcher)
    window.show()
    app.exec()
    print(f"{watcher.seconds:.4f} {_peak_megabytes():.1f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
