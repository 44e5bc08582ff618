"""Locks the desk after a while without a key press or click, so a laptop left unused shows no data."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

# What counts as someone using the desk. Mouse moves do not: a bumped mouse should not keep a desk open.
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


class IdleLock(QObject):
    """Watches every key press and click in the application (an application-wide event filter) and
    emits `idle` when none has come for the set time. It watches only while armed: from sign-in until
    the desk locks."""

    idle = Signal()

    def __init__(self, minutes: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._timed_out)
        self._armed = False
        self.set_minutes(minutes)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @property
    def timer(self) -> QTimer:
        """The countdown itself (tests shorten its interval)."""
        return self._timer

    @property
    def armed(self) -> bool:
        return self._armed

    def set_minutes(self, minutes: int) -> None:
        """Lock after `minutes` without use, counted afresh from now when armed."""
        self._timer.setInterval(max(1, minutes) * 60_000)
        if self._armed:
            self._timer.start()

    def arm(self) -> None:
        """Start counting (after someone signs in)."""
        self._armed = True
        self._timer.start()

    def disarm(self) -> None:
        """Stop counting (while the desk is locked, or the window closes)."""
        self._armed = False
        self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._armed and event.type() in _ACTIVITY:
            self._timer.start()
        return False  # only watching: every event goes on to where it was going

    def _timed_out(self) -> None:
        if self._armed:
            self._armed = False
            self.idle.emit()

    def stop_watching(self) -> None:
        """Remove the application-wide filter (when the window it locks goes away)."""
        self.disarm()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
