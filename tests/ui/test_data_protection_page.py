"""The data protection page: subject access exported to a folder, erasure only once confirmed (and refused
while a device is on loan), the retention period saved and run, and refusals shown rather than raised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import Resident, ResidentDraft
from digiknow_desk.domain.staff import Role, StaffMember
from digiknow_desk.services.audit import AuditFilter
from digiknow_desk.services.data_protection import ANONYMISED_NAME, RetentionRun
from digiknow_desk.ui.data_protection_page import (
    DataProtectionPage,
    FindResidentDialog,
    confirmation_box,
    retention_words,
)
from digiknow_desk.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from tests.conftest import FakeClock

NAME = "Zebediah Quartermaine"
WINDOW_MNEMONICS = {"f", "g", "h", "s"}  # File, Go, Help and Scan belong to the main window
INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView, QAbstractSpinBox)


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def zebediah(services: Services) -> Resident:
    return services.residents.add(ResidentDraft(name=NAME, phone="07700 900461", postcode="SK4 1AA"))


class Answers:
    """Stand-ins for the modal folder chooser, resident finder and questions; they record what was asked."""

    def __init__(
        self, folder: Path | None = None, confirm: bool = True, found: Resident | None = None
    ) -> None:
        self.folder = folder
        self.confirm = confirm
        self.found = found
        self.questions: list[tuple[str, str, str]] = []
        self.searched: list[str] = []

    def choose_folder(self, _parent: QWidget, _caption: str) -> str:
        return str(self.folder) if self.folder else ""

    def find_resident(self, _services: Services, _parent: QWidget, text: str) -> Resident | None:
        self.searched.append(text)
        return self.found

    def ask(self, _parent: QWidget, title: str, question: str, go_ahead: str) -> bool:
        self.questions.append((title, question, go_ahead))
        return self.confirm


def make_page(services: Services, tasks: TaskRunner, qtbot: QtBot, answers: Answers) -> DataProtectionPage:
    page = DataProtectionPage(
        services,
        tasks,
        choose_folder=answers.choose_folder,
        find_resident=answers.find_resident,
        confirm=answers.ask,
    )
    qtbot.addWidget(page)
    return page


def button(page: QWidget, name: str) -> QAbstractButton:
    return next(b for b in page.findChildren(QAbstractButton) if b.accessibleName() == name)


# Subject access


def test_export_writes_the_pdf_and_the_json_into_the_chosen_folder(
    services: Services, tasks: TaskRunner, qtbot: QtBot, zebediah: Resident, tmp_path: Path
) -> None:
    folder = tmp_path / "for the resident"
    folder.mkdir()
    answers = Answers(folder=folder)
    page = make_page(services, tasks, qtbot, answers)
    page.reference_field.setText("r1")  # as typed: the page reads it as R-00001

    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        button(page, "Export everything held about the resident").click()

    pdf, data = sorted(folder.iterdir(), key=lambda path: path.suffix, reverse=True)
    assert (pdf.suffix, data.suffix) == (".pdf", ".json")
    assert pdf.name.startswith("R-00001 personal data ") and pdf.stem == data.stem
    assert pdf.read_bytes().startswith(b"%PDF")
    assert NAME in json.dumps(json.loads(data.read_text(encoding="utf-8")))
    message = finished.args[0]
    assert message == page.export_message
    assert str(folder) in message and pdf.name in message and data.name in message
    assert page.resident_text.startswith(f"R-00001: {NAME}")
    assert [e.subject for e in services.audit.entries(AuditFilter(action="resident.data_exported"))] == [
        "R-00001"
    ]


def test_export_does_nothing_without_a_reference_or_a_folder(
    services: Services, tasks: TaskRunner, qtbot: QtBot, zebediah: Resident
) -> None:
    page = make_page(services, tasks, qtbot, Answers(folder=None))

    assert page.export() is None
    assert page.export_message == "Type or scan the resident's reference first, or find them by name."
    page.reference_field.setText(zebediah.reference)
    assert page.export() is None  # the folder chooser was cancelled
    page.reference_field.setText("R-00099")
    assert page.export() is None
    assert page.export_message.startswith("No resident has the reference R-00099.")
    assert services.audit.entries(AuditFilter(action="resident.data_exported")) == []


def test_find_puts_the_chosen_residents_reference_in_the_field(
    services: Services, tasks: TaskRunner, qtbot: QtBot, zebediah: Resident
) -> None:
    answers = Answers(found=zebediah)
    page = make_page(services, tasks, qtbot, answers)
    page.reference_field.setText("Zeb")

    button(page, "Find a resident by name").click()

    assert answers.searched == ["Zeb"]
    assert page.reference_field.text() == zebediah.reference
    assert page.resident_text == f"{zebediah.reference}: {NAME} (SK4 1AA)"


def test_the_find_dialog_searches_by_name_and_chooses_with_the_keyboard(
    services: Services, qtbot: QtBot, zebediah: Resident
) -> None:
    other = services.residents.add(ResidentDraft(name="Zelda Quinn", phone="0161 474 0000"))
    dialog = FindResidentDialog(services)
    qtbot.addWidget(dialog)

    dialog.set_search("Quartermaine")
    assert dialog.model.rowCount() == 1 and dialog.count_text == "1 resident matches: Enter chooses them."
    dialog.choose()
    assert dialog.chosen == zebediah

    dialog = FindResidentDialog(services, "Z")
    qtbot.addWidget(dialog)
    assert dialog.model.rowCount() == 2
    dialog.choose()  # two match and neither is chosen: nothing is picked
    assert dialog.chosen is None and dialog.count_text.startswith("Choose a resident in the list first")
    search = dialog.findChild(QLineEdit)
    assert search is not None
    QTest.keyClick(search, Qt.Key.Key_Down)  # Down goes from the search to the first found
    dialog.choose()
    assert dialog.chosen in (zebediah, other)


# Erasure


def test_erase_after_confirmation_removes_the_residents_details(
    services: Services, tasks: TaskRunner, qtbot: QtBot, zebediah: Resident
) -> None:
    answers = Answers(confirm=True)
    page = make_page(services, tasks, qtbot, answers)
    page.reference_field.setText(zebediah.reference)
    page.reason_field.setText("Resident asked by email on 3 March")

    with qtbot.waitSignal(page.changed, timeout=20_000), qtbot.waitSignal(page.finished, timeout=20_000):
        button(page, "Erase the resident's personal details").click()

    assert services.residents.get(zebediah.reference).name == ANONYMISED_NAME
    [(title, question, go_ahead)] = answers.questions
    assert go_ahead == f"Erase {zebediah.reference}"
    assert f"{zebediah.reference} ({NAME})" in question
    for words in ("cannot be undone", "Anonymous counts", "Backups made before now", "asked by email"):
        assert words in question
    assert page.erase_message.startswith(f"Erased {zebediah.reference}'s personal details.")
    # A file is cleared of the old text there and then; a server's laptops erase theirs when they sync.
    cleared = "cleared from the database file too" in page.erase_message
    laptops = "Venue laptops erase them at their next sync" in page.erase_message
    assert (cleared, laptops) == ((True, False) if services.database.is_sqlite else (False, True))
    assert page.reason_field.text() == ""
    assert page.resident_text.startswith(f"{zebediah.reference}: {ANONYMISED_NAME}")
    erased = services.audit.entries(AuditFilter(action="resident.erased"))
    assert [(e.subject, e.details) for e in erased] == [
        (zebediah.reference, {"reason": "Resident asked by email on 3 March"})
    ]


def test_cancelling_the_erasure_changes_nothing(
    services: Services, tasks: TaskRunner, qtbot: QtBot, zebediah: Resident
) -> None:
    answers = Answers(confirm=False)
    page = make_page(services, tasks, qtbot, answers)
    page.reference_field.setText(zebediah.reference)
    page.reason_field.setText("Asked in person")

    assert page.erase() is None

    assert len(answers.questions) == 1
    assert services.residents.get(zebediah.reference).name == NAME
    assert page.erase_message == f"Nothing was erased: {zebediah.reference} is as it was."
    assert page.reason_field.text() == "Asked in person"
    assert services.audit.entries(AuditFilter(action="resident.erased")) == []


def test_erasure_needs_a_reason_before_it_asks(
    services: Services, tasks: TaskRunner, qtbot: QtBot, zebediah: Resident
) -> None:
    answers = Answers(confirm=True)
    page = make_page(services, tasks, qtbot, answers)
    page.reference_field.setText(zebediah.reference)

    assert page.erase() is None

    assert answers.questions == []
    assert page.erase_message.startswith("Say why the record is erased")
    assert services.residents.get(zebediah.reference).name == NAME


def test_erasure_refused_while_on_loan_is_shown(
    services: Services, tasks: TaskRunner, qtbot: QtBot, zebediah: Resident
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET, make="Lenovo"))
    services.lending.issue("TAB-0001", zebediah.reference)
    page = make_page(services, tasks, qtbot, Answers(confirm=True))
    page.reference_field.setText(zebediah.reference)
    page.reason_field.setText("Asked in person")

    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        page.erase()

    assert finished.args[0].startswith(
        f"{zebediah.reference} still has TAB-0001 on loan. Take the device back"
    )
    assert page.erase_message == finished.args[0]
    assert services.residents.get(zebediah.reference).name == NAME
    assert button(page, "Erase the resident's personal details").isEnabled()


def test_the_real_confirmation_defaults_to_cancel() -> None:
    box = confirmation_box(None, "Erase a resident's details", "Erase R-00001?", "Erase R-00001")
    try:
        cancel = box.button(QMessageBox.StandardButton.Cancel)
        assert box.defaultButton() is cancel and box.escapeButton() is cancel
        erase = next(b for b in box.buttons() if b is not cancel)
        assert erase.text() == "Erase R-00001"
        assert box.buttonRole(erase) == QMessageBox.ButtonRole.DestructiveRole
    finally:
        box.deleteLater()


# Retention


def test_the_retention_period_is_saved_within_its_range(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(services, tasks, qtbot, Answers())
    assert page.months_box.value() == 24
    assert (page.months_box.minimum(), page.months_box.maximum()) == (6, 120)

    page.months_box.setValue(12)
    button(page, "Save the retention period").click()

    assert services.data_protection.retention().months == 12
    assert page.retention_message == "Saved: details are kept for 12 months after a resident's last activity."
    assert page.due_text.startswith("No resident is due now: none has gone 12 months")


def test_run_retention_anonymises_the_residents_due_and_says_so(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    now = clock.now
    clock.now = datetime(2023, 1, 10, 11, 0, tzinfo=UTC)
    old = services.residents.add(ResidentDraft(name="Olive Oldest", phone="0161 000 0001"))
    clock.now = now
    recent = services.residents.add(ResidentDraft(name="Rita Recent", phone="0161 000 0002"))
    answers = Answers(confirm=True)
    page = make_page(services, tasks, qtbot, answers)
    assert page.due_text.startswith("1 resident has had no activity for 24 months")

    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        button(page, "Run retention now").click()

    assert [go_ahead for _title, _question, go_ahead in answers.questions] == ["Anonymise 1 resident"]
    assert finished.args[0].startswith("Anonymised 1 resident with no activity since ")
    assert finished.args[0].endswith(f": {old.reference}.")
    assert services.residents.get(old.reference).name == ANONYMISED_NAME
    assert services.residents.get(recent.reference).name == "Rita Recent"
    assert page.due_text.startswith("No resident is due now")

    # Nothing due: it runs without asking, and says so.
    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        page.run_retention()
    assert len(answers.questions) == 1
    assert finished.args[0].startswith(
        "No resident was anonymised: every resident has had some activity since"
    )


def test_a_retention_run_in_words_lists_ten_references_and_counts_those_kept() -> None:
    references = tuple(f"R-{number:05d}" for number in range(1, 13))
    run = RetentionRun(24, date(2024, 3, 14), references, kept_active=1)

    assert retention_words(run) == (
        "Anonymised 12 residents with no activity since Thursday 14 March 2024: "
        + ", ".join(references[:10])
        + " and 2 more. 1 more resident with no activity since Thursday 14 March 2024 was kept, as they "
        "have a device on loan or a place on the waiting list."
    )
    assert retention_words(RetentionRun(24, date(2024, 3, 14), (), kept_active=3)) == (
        "No resident was anonymised. 3 residents with no activity since Thursday 14 March 2024 were kept, "
        "as they have a device on loan or a place on the waiting list."
    )


def test_cancelling_a_retention_run_anonymises_no_one(
    services: Services, tasks: TaskRunner, qtbot: QtBot, clock: FakeClock
) -> None:
    now = clock.now
    clock.now = datetime(2023, 1, 10, 11, 0, tzinfo=UTC)
    old = services.residents.add(ResidentDraft(name="Olive Oldest", phone="0161 000 0001"))
    clock.now = now
    page = make_page(services, tasks, qtbot, Answers(confirm=False))

    assert page.run_retention() is None

    assert page.run_message == "Nothing was changed: no resident was anonymised."
    assert services.residents.get(old.reference).name == "Olive Oldest"


# Who may use it, and how


def test_desk_staff_see_the_refusal_instead_of_a_crash(
    services: Services, tasks: TaskRunner, qtbot: QtBot, zebediah: Resident, tmp_path: Path
) -> None:
    services.desk.staff = StaffMember(username="sam.jones", display_name="Sam Jones", role=Role.DESK)
    refusal = "Sam Jones is signed in as Desk staff, who cannot use the data protection tools."
    folder = tmp_path / "for the resident"
    folder.mkdir()
    page = make_page(services, tasks, qtbot, Answers(folder=folder, confirm=True))
    assert page.due_text.startswith(refusal)

    page.reference_field.setText(zebediah.reference)
    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        page.export()
    assert finished.args[0].startswith(refusal)
    assert list(folder.iterdir()) == []

    page.reason_field.setText("Asked in person")
    with qtbot.waitSignal(page.finished, timeout=20_000) as finished:
        page.erase()
    assert finished.args[0].startswith(refusal)
    assert services.residents.get(zebediah.reference).name == NAME

    button(page, "Save the retention period").click()
    assert page.retention_message.startswith(refusal)
    page.run_retention()
    assert page.run_message.startswith(refusal)


def _unnamed_controls(root: QWidget) -> list[str]:
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None}
    return [
        type(widget).__name__
        for widget in root.findChildren(QWidget)
        if isinstance(widget, INTERACTIVE)
        and not isinstance(widget.parentWidget(), INTERACTIVE)  # a spin box's own line edit
        and not widget.accessibleName().strip()
        and id(widget) not in buddies
    ]


def _mnemonics(root: QWidget) -> list[str]:
    return [
        text[text.index("&") + 1].lower()
        for widget in root.findChildren(QLabel) + root.findChildren(QAbstractButton)
        if "&" in (text := widget.text().replace("&&", ""))
    ]


def test_every_control_is_named_has_its_own_key_and_is_reached_by_tab(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    page = make_page(services, tasks, qtbot, Answers())
    assert _unnamed_controls(page) == []
    keys = _mnemonics(page)
    assert len(keys) == len(set(keys)) and not set(keys) & WINDOW_MNEMONICS, keys

    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    wanted = {
        widget
        for widget in page.findChildren(QWidget)
        if widget.isVisible()
        and widget.isEnabled()
        and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        and widget.focusProxy() is None
    }
    page.reference_field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.reference_field)
    reached = set()
    for _ in range(2 * len(wanted) + 3):
        focused = QApplication.focusWidget()
        assert focused is not None
        reached.add(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    assert {widget.accessibleName() or type(widget).__name__ for widget in wanted - reached} == set()
