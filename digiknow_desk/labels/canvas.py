"""The canvas every printout is drawn on (labels, desk documents, reports): it marks demo pages, and can
hold its pages until the end so that each says "Page N of M"."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

DEMO_MARK = "DEMO – not live data"


def draw_demo_mark(canvas: Canvas) -> None:
    """Across the page, in translucent red: printed from a database that had demo data, so that no one
    takes it for a live record."""
    width, height = canvas._pagesize
    size = min(width, height) / 9
    canvas.saveState()
    canvas.setFillColor(Color(0.75, 0, 0, alpha=0.3))
    canvas.setFont("Helvetica-Bold", size)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(math.degrees(math.atan2(height, width)))
    canvas.drawCentredString(0, -size / 3, DEMO_MARK)
    canvas.restoreState()


class PrintCanvas(Canvas):
    """Every printout's canvas: with `demo`, each page carries the DEMO mark."""

    def __init__(self, *args: Any, demo: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.demo = demo

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        if self.demo:
            draw_demo_mark(self)
        super().showPage()


def numbered_canvas(draw: Callable[[Canvas, int, int], None], *, demo: bool) -> type[Canvas]:
    """A canvas class for reportlab's document templates: it holds its pages until the end and then
    calls `draw(canvas, page, pages)` on each (headers and footers that say "Page N of M")."""

    class NumberedCanvas(PrintCanvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, demo=demo, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for number, state in enumerate(self._held, 1):
                self.__dict__.update(state)
                draw(self, number, len(self._held))
                super().showPage()
            super().save()

    return NumberedCanvas
