"""The desk's printed documents: agreement and slip, wipe certificate, resident card, and their wording."""

from __future__ import annotations

import ast
import dataclasses
import io
import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
import zxingcpp

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.errors import DomainError, NotFound
from digiknow_desk.domain.loans import DataPlan, KitLine, Loan, Wipe, WipeChecklist, WipeMethod
from digiknow_desk.domain.residents import AgeBand, ReferralReason, Resident, ResidentDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.reporting.desk_documents import (
    CARD_SIZE,
    DeskWording,
    DocumentError,
    DocumentFonts,
    load_wording,
    long_date,
    long_time,
    render_loan_agreement,
    render_resident_card,
    render_wipe_certificate,
)
from digiknow_desk.services.context import Desk, ServiceContext
from digiknow_desk.services.documents import DocumentService, desk_wording_folder
from digiknow_desk.storage.database import Database

if TYPE_CHECKING:
    from tests.conftest import FakeClock

MM_PER_POINT = 25.4 / 72
A4_MM = (210.0, 297.0)
A5_MM = (148.0, 210.0)
PRINTED_ON = date(2026, 11, 26)
ALL_CHECKS = WipeChecklist(
    accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True
)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _resident(name: str = "Margaret O'Brien", *, large_print: bool = False) -> Resident:
    return Resident(
        id=uuid.uuid4(),
        reference="R-00042",
        name=name,
        phone="0161 496 0999",
        email="",
        address="",
        postcode="SK1 3XE",
        ward_code=None,
        ward_name="",
        age_band=AgeBand.AGE_75_PLUS,
        language="English",
        large_print=large_print,
        interpreter=False,
        access_needs="",
        referral_partner="",
        referral_reason=ReferralReason.SOCIAL_ISOLATION,
    )


def _loan(resident: Resident, **changes: object) -> Loan:
    loan = Loan(
        id=uuid.uuid4(),
        device_id=uuid.uuid4(),
        device_tag="TAB-0042",
        device_type=DeviceType.TABLET,
        device_description="Samsung Galaxy Tab A8",
        resident_id=resident.id,
        resident_reference=resident.reference,
        resident_name=resident.name,
        resident_contact=resident.phone,
        issued_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        due_on=date(2026, 12, 24),
        renewals=0,
        closed_at=None,
        outcome=None,
        issued_by="Priya Shah",
        accepted=True,
        late_reason="",
        kit=(KitLine("Charger", True, None), KitLine("Cable", True, None), KitLine("Case", False, None)),
    )
    return dataclasses.replace(loan, **changes)  # type: ignore[arg-type]  # test data: any field


def _wipe(checklist: WipeChecklist = ALL_CHECKS, notes: str = "") -> Wipe:
    return Wipe(
        id=uuid.UUID("0a49fb55-8c4f-4b12-95aa-6db95ba7dfb3"),
        device_tag="TAB-0042",
        device_description="Samsung Galaxy Tab A8",
        method=WipeMethod.FACTORY_RESET,
        wiped_at=datetime(2026, 12, 28, 12, 0, tzinfo=UTC),
        wiped_by="Priya Shah",
        checklist=checklist,
        notes=notes,
    )


@pytest.fixture(scope="module")
def wording() -> DeskWording:
    return load_wording(desk_wording_folder())


@pytest.fixture
def wording_folder(tmp_path: Path) -> Path:
    """A copy of the shipped wording, for a test to change as a coordinator would."""
    folder = tmp_path / "desk"
    shutil.copytree(desk_wording_folder(), folder)
    return folder


def _agreement(resident: Resident, wording: DeskWording, **changes: object) -> bytes:
    out = io.BytesIO()
    plan = changes.pop("data_plan", None)
    render_loan_agreement(
        _loan(resident, **changes),
        resident,
        wording,
        out,
        printed_on=PRINTED_ON,
        data_plan=plan,  # type: ignore[arg-type]  # test data
    )
    return out.getvalue()


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [
            (round(page.get_width() * MM_PER_POINT, 1), round(page.get_height() * MM_PER_POINT, 1))
            for page in document
        ]
    finally:
        document.close()


def _text(pdf: bytes) -> list[str]:
    """Each page's text, with line breaks and no-break spaces as plain spaces."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [
            " ".join(page.get_textpage().get_text_range().replace("\xa0", " ").split()) for page in document
        ]
    finally:
        document.close()


def _font_size(pdf: bytes, phrase: str, page_number: int = 0) -> float:
    """The size in points of the text where `phrase` starts on the page."""
    document = pdfium.PdfDocument(pdf)
    try:
        text_page = document[page_number].get_textpage()
        text = text_page.get_text_range()
        index = text.index(phrase)
        return round(float(pdfium_raw.FPDFText_GetFontSize(text_page, index)), 1)
    finally:
        document.close()


# Dates in words


def test_dates_are_written_out_in_words() -> None:
    assert long_date(date(2026, 12, 24)) == "Thursday 24 December 2026"
    assert long_date(date(2027, 1, 1)) == "Friday 1 January 2027"
    assert long_time(datetime(2026, 12, 28, 14, 5).astimezone()) == "Monday 28 December 2026 at 14:05"


# The loan agreement and slip


def test_the_agreement_is_one_a4_page_then_an_a5_slip(wording: DeskWording) -> None:
    assert _pages(_agreement(_resident(), wording)) == [A4_MM, A5_MM]


def test_the_agreement_says_who_what_until_when_and_how_to_get_help(wording: DeskWording) -> None:
    agreement, slip = _text(_agreement(_resident(), wording))

    for expected in (
        "Device loan agreement",
        "Margaret O'Brien",
        "R-00042",
        "Tablet, Samsung Galaxy Tab A8 (TAB-0042)",
        "Charger, Cable",
        "Thursday 26 November 2026",  # lent on
        "Bring it back by Thursday 24 December 2026",
        "Lost, stolen or broken:",
        "Getting help: Ring 0161 496 0123 (Monday to Friday, 9am to 5pm)",
        "any Stockport library or Starting Point",
        "Your data:",
        "Resident's signature",
        "Staff member",
        "Priya Shah",
    ):
        assert expected in agreement
    assert "Case" not in agreement, "only the kit that went out is listed"
    assert "Data" not in agreement.replace("Your data", ""), "no data row without a data plan"
    assert "$" not in agreement + slip, "every placeholder is filled in"

    for expected in ("Please bring your device back by", "Thursday 24 December 2026", "R-00042", "TAB-0042"):
        assert expected in slip
    assert "O'Brien" not in slip, "the slip the resident carries about does not name them"


def test_the_slip_prints_the_due_date_very_large(wording: DeskWording) -> None:
    pdf = _agreement(_resident(), wording)

    assert _font_size(pdf, "Thursday", page_number=1) >= 2.5 * 14
    assert _font_size(pdf, "24 December 2026", page_number=1) >= 2.5 * 14


def test_a_data_plan_shows_its_network_allowance_and_expiry(wording: DeskWording) -> None:
    plan = DataPlan("Vodafone", "National Databank", "30 GB a month", date(2026, 11, 1), date(2027, 1, 1))

    agreement, _ = _text(_agreement(_resident(), wording, data_plan=plan))

    assert "Data Vodafone, 30 GB a month, until Friday 1 January 2027" in agreement


def test_the_body_is_14_pt_and_larger_in_large_print(wording: DeskWording) -> None:
    phrase = "lends you this device"
    normal = _font_size(_agreement(_resident(), wording), phrase)
    large = _font_size(_agreement(_resident(large_print=True), wording), phrase)

    assert normal == 14
    assert large >= 16


def test_a_long_loan_in_large_print_still_fits_one_page_no_smaller_than_14_pt(wording: DeskWording) -> None:
    resident = _resident("Bartholomew Alexander Featherstonehaugh-Wojcik of Heaton Norris", large_print=True)
    kit = (
        "Charger",
        "Bag",
        "Mouse",
        "USB-C to USB-A adapter",
        "Headphones with microphone",
        "Quick-start guide",
    )
    pdf = _agreement(
        resident,
        wording,
        device_type=DeviceType.LAPTOP,
        device_description="Lenovo IdeaPad 3 15ITL6 with 8 GB memory and a 256 GB solid-state drive",
        kit=tuple(KitLine(name, True, None) for name in kit),
        data_plan=DataPlan("Three", "National Databank", "Unlimited", None, date(2026, 12, 30)),
    )

    assert _pages(pdf) == [A4_MM, A5_MM]
    assert "Headphones with microphone" in _text(pdf)[0]
    assert _font_size(pdf, "lends you this device") >= 14


def test_names_are_printed_as_text_not_markup(wording: DeskWording) -> None:
    agreement, _ = _text(_agreement(_resident("Ann & Bob <Smith>"), wording))

    assert "Ann & Bob <Smith>" in agreement


def test_letters_outside_helvetica_lose_their_accent_rather_than_print_as_boxes(wording: DeskWording) -> None:
    agreement, _ = _text(_agreement(_resident("Zoë Łukasz Ćwik"), wording))

    assert "Zoë Lukasz Cwik" in agreement


@pytest.mark.skipif(not (DEJAVU / "DejaVuSans.ttf").is_file(), reason="needs the DejaVu fonts installed")
def test_a_truetype_font_prints_every_letter_of_a_name(wording: DeskWording) -> None:
    fonts = DocumentFonts.from_files(DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSans-Bold.ttf")
    resident = _resident("Zoë Łukasz Ćwik")
    out = io.BytesIO()

    render_loan_agreement(_loan(resident), resident, wording, out, printed_on=PRINTED_ON, fonts=fonts)

    assert "Zoë Łukasz Ćwik" in _text(out.getvalue())[0]


def test_the_same_loan_gives_the_same_bytes(wording: DeskWording) -> None:
    resident = _resident()
    loan = _loan(resident)
    first, second = io.BytesIO(), io.BytesIO()

    render_loan_agreement(loan, resident, wording, first, printed_on=PRINTED_ON)
    render_loan_agreement(loan, resident, wording, second, printed_on=PRINTED_ON)

    assert first.getvalue() == second.getvalue()


def test_an_agreement_for_someone_else_s_loan_is_refused(wording: DeskWording) -> None:
    resident = _resident()
    other = dataclasses.replace(resident, reference="R-00043")

    with pytest.raises(ValueError, match="R-00042, not R-00043"):
        render_loan_agreement(_loan(resident), other, wording, io.BytesIO(), printed_on=PRINTED_ON)


# The wipe certificate


def _certificate(wording: DeskWording, wipe: Wipe) -> bytes:
    out = io.BytesIO()
    render_wipe_certificate(wipe, wording, out, printed_on=date(2026, 12, 28))
    return out.getvalue()


def test_the_certificate_records_the_device_method_checks_who_and_when(wording: DeskWording) -> None:
    pdf = _certificate(wording, _wipe(notes="Screen protector replaced."))

    assert _pages(pdf) == [A4_MM]
    (text,) = _text(pdf)
    for expected in (
        "Certificate of data wipe",
        "0a49fb55-8c4f-4b12-95aa-6db95ba7dfb3",
        "TAB-0042, Samsung Galaxy Tab A8",
        "Method Factory reset",
        "Wiped by Priya Shah",
        f"Wiped on {long_time(datetime(2026, 12, 28, 12, 0, tzinfo=UTC))}",
        "Accounts signed out Done",
        "Factory reset or MDM wipe done Done",
        "Preloaded apps restored Done",
        "Charger present Done",
        "All personal data, accounts and files of the previous borrower were removed from TAB-0042",
        "Screen protector replaced.",
        "Checked by",
    ):
        assert expected in text
    assert "Not done" not in text


def test_an_incomplete_wipe_says_so_instead_of_certifying(wording: DeskWording) -> None:
    checklist = WipeChecklist(
        accounts_signed_out=True, reset_done=False, apps_restored=True, charger_present=True
    )

    (text,) = _text(_certificate(wording, _wipe(checklist)))

    assert "Factory reset or MDM wipe done Not done" in text
    assert "This wipe is not complete: TAB-0042 must not be lent" in text
    assert "personal data" not in text


def test_very_long_wipe_notes_are_cut_short_to_keep_one_page(wording: DeskWording) -> None:
    pdf = _certificate(wording, _wipe(notes="Keyboard sticky; battery at 70%. " * 100))

    assert _pages(pdf) == [A4_MM]
    assert "…" in _text(pdf)[0]


# The resident card


def _card(wording: DeskWording, resident: Resident) -> bytes:
    out = io.BytesIO()
    render_resident_card(resident, wording, out)
    return out.getvalue()


def test_the_card_is_credit_card_size_with_name_reference_and_contact(wording: DeskWording) -> None:
    pdf = _card(wording, _resident())

    assert _pages(pdf) == [(85.6, 54.0)]
    (text,) = _text(pdf)
    for expected in (
        "DigiKnow Stockport",
        "Resident card",
        "Margaret O'Brien",
        "R-00042",
        "Ring 0161 496 0123",
    ):
        assert expected in text
    assert _font_size(pdf, "R-00042") >= 18


@pytest.mark.parametrize("name", ["Margaret O'Brien", "Bartholomew Alexander Featherstonehaugh-Wojcik"])
def test_the_card_s_qr_code_scans_as_the_reference_at_300_dpi(wording: DeskWording, name: str) -> None:
    document = pdfium.PdfDocument(_card(wording, _resident(name)))
    try:
        image = document[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()

    codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))

    assert [code.text for code in codes] == ["R-00042"]
    width_mm = image.width / (300 / 25.4)
    assert width_mm == pytest.approx(CARD_SIZE[0] * MM_PER_POINT, abs=0.2)


def test_a_long_name_on_the_card_takes_two_lines(wording: DeskWording) -> None:
    (text,) = _text(_card(wording, _resident("Bartholomew Alexander Featherstonehaugh-Wojcik")))

    assert "Bartholomew Alexander Featherstonehaugh-Wojcik" in text


# The wording, as a coordinator edits it


def test_the_shipped_wording_loads(wording: DeskWording) -> None:
    assert wording.name == "DigiKnow Stockport"
    assert [section["heading"] for section in wording.agreement.sections("sections", {})][
        0
    ] == "Looking after it"


def test_a_change_to_the_wording_shows_on_the_next_document(wording_folder: Path) -> None:
    path = wording_folder / "organisation.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("0161 496 0123", "0161 496 0777"), encoding="utf-8"
    )
    path = wording_folder / "loan_agreement.toml"
    text = path.read_text(encoding="utf-8").replace(
        'title = "Device loan agreement"', 'title = "Your tablet loan from $organisation"'
    )
    path.write_text(text, encoding="utf-8")

    agreement, slip = _text(_agreement(_resident(), load_wording(wording_folder)))

    assert "Your tablet loan from DigiKnow Stockport" in agreement
    assert "0161 496 0777" in agreement + slip
    assert "0161 496 0123" not in agreement + slip


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("loan_agreement.toml", 'title = "Device loan agreement"\n', "", r"'title' is missing"),
        ("due_slip.toml", 'title = "', 'titel = "', r"'title' is missing"),
        (
            "wipe_certificate.toml",
            'done = "Done"\n',
            'done = "Done"\ncolour = "red"\n',
            r"unknown entry 'colour'",
        ),
        (
            "resident_card.toml",
            "Ring $phone",
            "Ring $telephone",
            r"uses \$telephone, which is not a placeholder",
        ),
        (
            "resident_card.toml",
            "Ring $phone",
            "Ring $email",
            r"uses \$email, but it is empty in organisation.toml",
        ),
        ("resident_card.toml", "Ring $phone", "Pay $5", r"write \$\$ for a dollar sign"),
        ("loan_agreement.toml", 'name = "Name"', "name = 3", r"'details.name' should be text in quotes"),
        ("organisation.toml", 'name = "DigiKnow Stockport"', 'name = ""', r"'name' is empty"),
        ("due_slip.toml", 'title = "', 'title = "unterminated\n', r"cannot be read"),
    ],
)
def test_a_mistake_in_the_wording_is_named_with_its_file(
    wording_folder: Path, file: str, old: str, new: str, message: str
) -> None:
    path = wording_folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")

    with pytest.raises(DocumentError, match=message) as raised:
        load_wording(wording_folder)

    assert file in str(raised.value)


@pytest.mark.parametrize(
    "file",
    [
        "organisation.toml",
        "loan_agreement.toml",
        "due_slip.toml",
        "wipe_certificate.toml",
        "resident_card.toml",
    ],
)
def test_a_missing_wording_file_is_named(wording_folder: Path, file: str) -> None:
    (wording_folder / file).unlink()

    with pytest.raises(DocumentError, match=f"The wording file .*{file} is missing"):
        load_wording(wording_folder)


def test_wording_too_long_for_one_page_is_refused_with_advice(wording_folder: Path) -> None:
    path = wording_folder / "loan_agreement.toml"
    extra = '\n[[sections]]\nheading = "More"\ntext = "' + "Please read this carefully. " * 60 + '"\n'
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")

    with pytest.raises(DocumentError, match=r"does not fit on one page even at 14 pt: shorten the wording"):
        _agreement(_resident(), load_wording(wording_folder))


# The service: finds the records and saves the PDF


@pytest.fixture
def documents(database: Database, services: Services, clock: FakeClock) -> DocumentService:
    context = ServiceContext(db=database, desk=Desk(setup_staff("Test Staff")), clock=clock)
    return DocumentService(context, services.residents, services.lending)


def _lend(services: Services) -> tuple[Resident, Loan]:
    draft = DeviceDraft(
        tag="TAB-0007", device_type=DeviceType.TABLET, make="Lenovo", model="Tab M10", kit=("Charger", "Case")
    )
    services.inventory.add(draft)
    resident = services.residents.add(
        ResidentDraft(name="Mary Smith", phone="0161 496 0555", large_print=True)
    )
    return resident, services.lending.issue("TAB-0007", resident.reference)


def test_the_service_saves_the_agreement_of_the_device_s_open_loan(
    services: Services, documents: DocumentService, tmp_path: Path
) -> None:
    resident, loan = _lend(services)
    out = tmp_path / "agreement.pdf"

    documents.loan_agreement("tab-0007", out)

    pdf = out.read_bytes()
    assert _pages(pdf) == [A4_MM, A5_MM]
    agreement, slip = _text(pdf)
    assert resident.reference in agreement and "Mary Smith" in agreement
    assert "Tablet, Lenovo Tab M10 (TAB-0007)" in agreement
    assert long_date(loan.due_on) in slip
    assert _font_size(pdf, "lends you this device") > 14, "Mary asked for large print"


def test_the_service_explains_when_a_device_is_not_on_loan(
    services: Services, documents: DocumentService, tmp_path: Path
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0008", device_type=DeviceType.TABLET))

    with pytest.raises(NotFound, match="TAB-0008 is not on loan"):
        documents.loan_agreement("TAB-0008", tmp_path / "agreement.pdf")

    assert not (tmp_path / "agreement.pdf").exists()


def test_the_service_saves_the_latest_wipe_certificate_and_the_card(
    services: Services, documents: DocumentService, tmp_path: Path
) -> None:
    resident, _ = _lend(services)
    services.lending.return_device("TAB-0007")
    wipe = services.lending.record_wipe("TAB-0007", WipeMethod.MDM_WIPE, ALL_CHECKS).wipe

    documents.wipe_certificate("TAB-0007", tmp_path / "wipe.pdf")
    documents.resident_card(resident.reference.lower(), tmp_path / "card.pdf")

    (certificate,) = _text((tmp_path / "wipe.pdf").read_bytes())
    assert str(wipe.id) in certificate and "MDM wipe" in certificate and "Test Staff" in certificate
    (card,) = _text((tmp_path / "card.pdf").read_bytes())
    assert resident.reference in card and "Mary Smith" in card


def test_the_service_reports_broken_wording_and_saves_nothing(
    database: Database, services: Services, clock: FakeClock, wording_folder: Path, tmp_path: Path
) -> None:
    resident, _ = _lend(services)
    (wording_folder / "resident_card.toml").unlink()
    context = ServiceContext(db=database, desk=Desk(setup_staff("Test Staff")), clock=clock)
    documents = DocumentService(context, services.residents, services.lending, wording_folder=wording_folder)
    out = tmp_path / "card.pdf"

    with pytest.raises(DomainError, match="resident_card.toml is missing"):
        documents.resident_card(resident.reference, out)

    assert list(tmp_path.glob("*.pdf")) == []


# Layering


def test_reporting_depends_only_on_the_domain_the_qr_drawing_the_stdlib_and_reportlab() -> None:
    package = Path(__file__).resolve().parents[2] / "digiknow_desk" / "reporting"
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("digiknow_desk"):
                assert node.module.startswith(
                    ("digiknow_desk.domain", "digiknow_desk.reporting")
                ) or node.module in (
                    "digiknow_desk.labels.canvas",
                    "digiknow_desk.labels.qr",
                    "digiknow_desk.labels.sheet",
                )
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for name in names:
                    assert name is not None
                    assert name.split(".")[0] not in {"sqlalchemy", "PySide6", "alembic"}, path
