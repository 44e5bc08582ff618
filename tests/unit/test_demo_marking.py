"""A database that had demo data says so on every printout: desk documents, labels and the report."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.labels.canvas import DEMO_MARK
from digiknow_desk.services.labels import LabelRequest


def _pages_text(pdf: Path) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    finally:
        document.close()


def _print_everything(services: Services, folder: Path) -> list[Path]:
    resident = services.residents.add(
        ResidentDraft(name="Emma Evans", phone="0161 474 0001", consents=frozenset(ConsentPurpose))
    )
    tag = services.inventory.add(
        DeviceDraft(tag="TAB-0900", device_type=DeviceType.TABLET, make="Lenovo")
    ).tag
    services.lending.issue(tag, resident.reference)
    outs = [folder / name for name in ("card.pdf", "agreement.pdf", "labels.pdf", "report.pdf")]
    services.documents.resident_card(resident.reference, outs[0])
    services.documents.loan_agreement(tag, outs[1])
    services.labels.write_pdf(LabelRequest(stock_name="L7160", tags=(tag,)), outs[2])
    services.reports.save_monthly(date(2026, 2, 1), outs[3])
    return outs


@pytest.mark.parametrize("demo", [True, False], ids=["demo", "live"])
def test_every_page_printed_from_a_demo_database_carries_the_mark(
    services: Services, tmp_path: Path, demo: bool
) -> None:
    if demo:
        services.demo.fill(devices=2, residents=0)
    assert services.demo.is_demo() is demo
    for pdf in _print_everything(services, tmp_path):
        pages = _pages_text(pdf)
        assert pages, pdf
        assert all((DEMO_MARK in text) is demo for text in pages), pdf.name
    report = services.reports.monthly(date(2026, 2, 1))
    assert report.demo is demo
    assert json.loads(json.dumps(services.reports.as_json(report)))["demo"] is demo
