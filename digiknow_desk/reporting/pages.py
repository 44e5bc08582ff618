"""The A4 page of the long documents (the monthly report, a subject access response): its margins, and
the PDF built from a story of flowables with a header and footer drawn on every page."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from digiknow_desk.labels.canvas import numbered_canvas

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
TOP = 20 * mm  # the running header sits above the frame
BOTTOM = 22 * mm  # the footer sits below it
WIDTH = PAGE_WIDTH - 2 * MARGIN


def a4_pdf(
    title: str,
    story: Sequence[Flowable],
    furniture: Callable[[Canvas, int, int], None],
    *,
    demo: bool,
) -> bytes:
    """The story laid out on A4 pages; `furniture(canvas, page, pages)` draws each page's header and
    footer once the number of pages is known. With `demo`, every page carries the DEMO mark."""
    out = io.BytesIO()
    document = BaseDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=title,
        creator="DigiKnow Desk",
        invariant=1,  # no timestamps in the file: the same records give the same bytes
    )
    frame = Frame(
        MARGIN, BOTTOM, WIDTH, PAGE_HEIGHT - TOP - BOTTOM, leftPadding=0, rightPadding=0, topPadding=0
    )
    document.addPageTemplates([PageTemplate("page", [frame])])
    document.build(list(story), canvasmaker=numbered_canvas(furniture, demo=demo))
    return out.getvalue()
