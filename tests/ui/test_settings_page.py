"""Settings: the venues table and form, the lending rules, who counts as digitally included, the ward
populations and the excluded rate, champions' training and DBS rules, and the postcode-to-ward table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import ChampionRules
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus
from digiknow_desk.domain.reports import check_excluded_rate
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.settings_page import SettingsPage, VenueDialog, VenueTableModel, WardPopulationModel
from digiknow_desk.ui.tasks import TaskRunner

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it

# Alt+letter keys the main window takes: the File, Go and Help menus and the scan box.
WINDOW_MNEMONICS = {"f", "g", "h", "s"}


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def make_page(
    services: Services,
    tasks: TaskRunner,
    qtbot: QtBot,
    *,
    chosen: Path | None = None,
    clear: bool = False,
    asked: list[str] | None = None,
) -> SettingsPage:
    """The page, with the file chooser answering `chosen` ('' for Cancel) and the clear question `clear`."""

    def open_path(_parent: QWidget, caption: str, _filter: str) -> str:
        if asked is not None:
            asked.append(caption)
        return str(chosen) if chosen else ""

    page = SettingsPage(services, tasks, open_path=open_path, confirm_clear=lambda _parent: clear)
    qtbot.addWidget(page)
    return page


def button(page: SettingsPage, name: str) -> QAbstractButton:
    return next(b for b in page.findChildren(QAbstractButton) if b.accessibleName() == name)


def test_venue_model_passes_the_model_tester(qtmodeltester: object, services: Services) -> None:
    services.venues.add(VenueDraft("Reddish Library", "E05000797"))
    services.venues.add(VenueDraft("Marple Library", "E05000794", active=False))
    model = VenueTableModel()
    model.set_venues(services.venues.venues())
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.rowCount() == 2
    assert model.data(model.index(0, VenueTableModel.WARD)) == "Marple North"
    assert model.data(model.index(0, VenueTableModel.ACTIVE)) == "No (closed)"
    assert model.data(model.index(1, 0), RECORD_ROLE).name == "Reddish Library"


def test_adding_a_venue_through_the_form(qtbot: QtBot, services: Services) -> None:
    dialog = VenueDialog(services)
    qtbot.addWidget(dialog)
    dialog.set_values("  Brinnington   Community Centre ", "E05000783")
    dialog.save()
    assert dialog.result() == VenueDialog.DialogCode.Accepted
    assert dialog.saved is not None and dialog.saved.name == "Brinnington Community Centre"
    assert [venue.ward_name for venue in services.venues.venues()] == ["Brinnington and Central"]


def test_form_shows_refusals_and_saves_nothing(qtbot: QtBot, services: Services) -> None:
    services.venues.add(VenueDraft("Reddish Library", "E05000797"))
    dialog = VenueDialog(services)
    qtbot.addWidget(dialog)
    dialog.set_values("reddish library", "")
    dialog.save()
    assert dialog.saved is None
    assert "already a venue called" in dialog.message
    assert "Choose the venue's ward" in dialog.message
    assert len(services.venues.venues()) == 1


def test_editing_a_venue_closes_it(qtbot: QtBot, services: Services) -> None:
    venue = services.venues.add(VenueDraft("Edgeley Library", "E05000788"))
    dialog = VenueDialog(services, venue)
    qtbot.addWidget(dialog)
    dialog.set_values("Edgeley Library", "E05000788", active=False)
    dialog.save()
    assert services.venues.venues()[0].active is False


def test_page_lists_venues_and_refreshes(qtbot: QtBot, services: Services, tasks: TaskRunner) -> None:
    page = make_page(services, tasks, qtbot)
    assert page.model.rowCount() == 0
    services.venues.add(VenueDraft("Cheadle Library", "E05000784"))
    page.refresh()
    assert page.model.rowCount() == 1


def test_every_control_has_a_name_and_the_alt_keys_do_not_clash(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    controls = [
        *page.findChildren(QPushButton),
        *page.findChildren(QCheckBox),
        *page.findChildren(QAbstractSpinBox),
        *page.findChildren(QComboBox),
    ]
    assert controls and all(control.accessibleName() for control in controls)
    texts = [label.text() for label in page.findChildren(QLabel) if "<" not in label.text()]
    texts += [b.text() for b in page.findChildren(QAbstractButton)]
    texts += [box.title() for box in page.findChildren(QGroupBox)]
    letters = [match.group(1).lower() for text in texts if (match := re.search(r"&(\w)", text))]
    # The venue, rules and postcode buttons, eight of the lending rules, the inclusion rule's two fields
    # and Save, the ward estimate's first field and Save, and the first of the champions' rules.
    assert len(letters) == 19
    assert len(set(letters)) == len(letters), letters
    assert not set(letters) & WINDOW_MNEMONICS
    for label in page.findChildren(QLabel):
        if "&" in label.text():
            assert label.buddy() is not None, label.text()


# Lending rules


def test_the_rules_are_shown_changed_and_read_back(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    assert page.loan_days_box(DeviceType.TABLET).value() == 28
    assert page.rule_box("renewal_limit").value() == 2
    page.loan_days_box(DeviceType.DATA_SIM).setValue(90)
    page.loan_days_box(DeviceType.LAPTOP).setValue(14)
    page.rule_box("renewal_limit").setValue(0)
    page.rule_box("offer_days").setValue(5)
    page.rule_box("sim_warning_days").setValue(21)
    with qtbot.waitSignal(page.rules_saved):
        button(page, "Save the lending rules").click()
    assert page.rules_message.startswith("Saved.")

    rules = services.lending.rules()
    assert rules.loan_days[DeviceType.DATA_SIM] == 90
    assert rules.loan_days[DeviceType.LAPTOP] == 14
    assert rules.loan_days[DeviceType.TABLET] == 28
    assert (rules.renewal_limit, rules.offer_days, rules.sim_warning_days) == (0, 5, 21)
    again = make_page(services, tasks, qtbot)
    assert again.loan_days_box(DeviceType.DATA_SIM).value() == 90
    assert again.rule_box("sim_warning_days").value() == 21


def test_values_out_of_range_are_refused_beside_their_fields(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    page.show()
    page.loan_days_box(DeviceType.PHONE).setValue(0)
    page.rule_box("renewal_limit").setValue(25)
    assert page.save_rules() is False
    assert page.rules_problem("loan_days") == "A loan period must be between 1 and 365 days."
    assert page.rules_problem("renewal_limit") == "Allow between 0 and 20 renewals."
    assert page.rules_problem("offer_days") == ""
    assert page.rule_box("renewal_limit").accessibleDescription() == "Allow between 0 and 20 renewals."
    assert page.rules_message.startswith("The rules were not saved")
    assert services.lending.rules().loan_days[DeviceType.PHONE] == 28  # nothing saved
    assert services.lending.rules().renewal_limit == 2

    page.loan_days_box(DeviceType.PHONE).setValue(35)
    page.rule_box("renewal_limit").setValue(3)
    assert page.save_rules() is True
    assert page.rules_problem("loan_days") == page.rules_problem("renewal_limit") == ""
    assert services.lending.rules().loan_days[DeviceType.PHONE] == 35


# The postcode-to-ward table


def test_importing_a_postcode_table_through_the_file_chooser(
    qtbot: QtBot, services: Services, tasks: TaskRunner, tmp_path: Path
) -> None:
    source = tmp_path / "stockport-postcodes.csv"
    source.write_text("postcode,ward\nSK5 6AB,E05000797\nSK6 6AA,Marple North\nM20 2PX,E05011363\n")
    asked: list[str] = []
    page = make_page(services, tasks, qtbot, chosen=source, asked=asked)
    assert page.postcode_status == "No postcode table is loaded: the resident form cannot suggest wards."
    assert not button(page, "Clear postcode table").isEnabled()

    with qtbot.waitSignal(page.postcode_import_finished, timeout=10_000) as finished:
        button(page, "Import postcode table").click()
        assert not button(page, "Import postcode table").isEnabled()  # one import at a time

    assert asked == ["Choose a postcode-to-ward CSV file"]
    assert finished.args[0].startswith(
        "Imported 2 postcodes in Stockport's 21 wards from stockport-postcodes.csv; skipped 1 outside"
    )
    assert page.postcode_message == finished.args[0]
    assert page.postcode_status == "2 postcodes loaded."
    assert button(page, "Import postcode table").isEnabled()
    assert button(page, "Clear postcode table").isEnabled()
    ward = services.postcodes.ward_for("sk6 6aa")
    assert ward is not None and ward.name == "Marple North"


def test_a_file_that_cannot_be_imported_says_why_and_keeps_the_table(
    qtbot: QtBot, services: Services, tasks: TaskRunner, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("postcode,ward\nSK5 6AB,Reddish North\n")
    services.postcodes.import_table(good)
    bad = tmp_path / "addresses.csv"
    bad.write_text("name,postcode\nMargaret Holt,SK5 6AB\n")
    page = make_page(services, tasks, qtbot, chosen=bad)
    with qtbot.waitSignal(page.postcode_import_finished, timeout=10_000) as finished:
        page.import_postcodes()
    assert finished.args[0].startswith("addresses.csv has no ward column")
    assert page.postcode_status == "1 postcode loaded."
    assert services.postcodes.count() == 1


def test_cancelling_the_file_chooser_imports_nothing(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot, chosen=None)
    assert page.import_postcodes() is None
    assert page.postcode_message == ""


@pytest.mark.parametrize("confirmed", [False, True])
def test_clearing_the_table_asks_first(
    qtbot: QtBot, services: Services, tasks: TaskRunner, tmp_path: Path, confirmed: bool
) -> None:
    source = tmp_path / "postcodes.csv"
    source.write_text("postcode,ward\nSK5 6AB,Reddish North\nSK6 6AA,Marple North\n")
    services.postcodes.import_table(source)
    page = make_page(services, tasks, qtbot, clear=confirmed)
    button(page, "Clear postcode table").click()
    if confirmed:
        assert services.postcodes.count() == 0
        assert page.postcode_message == "Removed 2 postcodes: the table is empty."
        assert page.postcode_status.startswith("No postcode table is loaded")
        assert not button(page, "Clear postcode table").isEnabled()
    else:
        assert services.postcodes.count() == 2
        assert page.postcode_status == "2 postcodes loaded."


# Who counts as digitally included


def _resident_who_can_do_it_alone(services: Services, name: str, *, tablet: str = "") -> str:
    """A resident whose latest check shows Foundation and Communicating done alone (nothing else), with a
    device and a connection of their own, or a tablet on loan and no connection."""
    resident = services.residents.add(ResidentDraft(name=name, phone="0161 474 4444", consents=ALL_CONSENTS))
    levels = dict.fromkeys(SkillArea, SkillLevel.NOT_YET) | {
        SkillArea.FOUNDATION: SkillLevel.ALONE,
        SkillArea.COMMUNICATING: SkillLevel.ALONE,
    }
    today = services.clock().astimezone().date()
    own = not tablet
    services.skills.record(
        resident.reference, SkillsCheckDraft(levels, today, own_device=own, own_connection=own)
    )
    if tablet:
        services.inventory.add(DeviceDraft(tag=tablet, device_type=DeviceType.TABLET))
        services.inventory.add(DeviceDraft(tag=tablet.replace("TAB", "SIM"), device_type=DeviceType.DATA_SIM))
        services.lending.issue(tablet, resident.reference)
        services.lending.issue(tablet.replace("TAB", "SIM"), resident.reference)
    return resident.reference


def test_the_rule_is_shown_in_words_as_the_fields_change(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    assert page.inclusion_rule() == InclusionRule()
    assert page.rule_text == "In words: " + InclusionRule().describe()
    assert page.areas_alone_box.maximum() == 5 and page.areas_alone_box.minimum() == 0

    page.foundation_box.setCurrentIndex(page.foundation_box.findText("With help"))
    page.areas_alone_box.setValue(3)
    page.loans_count_box.setChecked(False)
    wanted = InclusionRule(SkillLevel.WITH_HELP, 3, loans_count_as_access=False)
    assert page.inclusion_rule() == wanted
    assert page.rule_text == "In words: " + wanted.describe()
    assert "at least 3 of the five other skill areas done alone" in page.rule_text
    assert "a device and an internet connection of their own" in page.rule_text
    assert services.inclusion.rule() == InclusionRule()  # nothing saved until Save


def test_saving_the_rule_works_out_every_status_again_and_says_how_many_changed(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    on_loan = [_resident_who_can_do_it_alone(services, f"Borrower {n}", tablet=f"TAB-000{n}") for n in (1, 2)]
    own = _resident_who_can_do_it_alone(services, "Owner")
    assert {services.residents.get(ref).inclusion_status for ref in on_loan} == {InclusionStatus.INCLUDED}
    page = make_page(services, tasks, qtbot)

    page.loans_count_box.setChecked(False)  # only their own device and connection count now
    with qtbot.waitSignal(page.inclusion_rule_saved, timeout=10_000) as saved:
        button(page, "Save the inclusion rule").click()
        assert not button(page, "Save the inclusion rule").isEnabled()  # once at a time

    assert saved.args == [2]
    assert page.inclusion_message == "Saved. 2 residents' statuses changed."
    assert button(page, "Save the inclusion rule").isEnabled()
    assert services.inclusion.rule() == InclusionRule(loans_count_as_access=False)
    assert {services.residents.get(ref).inclusion_status for ref in on_loan} == {InclusionStatus.SUPPORTED}
    assert services.residents.get(own).inclusion_status is InclusionStatus.INDEPENDENT
    assert services.inclusion.counts()[InclusionStatus.SUPPORTED] == 2

    page.areas_alone_box.setValue(2)  # Communicating alone is no longer enough for the owner either
    with qtbot.waitSignal(page.inclusion_rule_saved, timeout=10_000):
        page.save_inclusion_rule()
    assert page.inclusion_message == "Saved. 1 resident's status changed."
    assert services.residents.get(own).inclusion_status is InclusionStatus.SUPPORTED
    again = make_page(services, tasks, qtbot)
    assert again.inclusion_rule() == InclusionRule(areas_alone=2, loans_count_as_access=False)


def test_a_rule_outside_the_limits_is_refused_beside_its_field(
    qtbot: QtBot, services: Services, tasks: TaskRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = make_page(services, tasks, qtbot)
    # The form offers only levels the rule allows; a rule from elsewhere (an older database) may not.
    monkeypatch.setattr(page, "inclusion_rule", lambda: InclusionRule(foundation=SkillLevel.NOT_YET))
    assert page.save_inclusion_rule() is None
    assert page.inclusion_message == "The rule was not saved: correct the values marked Problem."
    assert page.foundation_box.accessibleDescription() == (
        "Foundation skills must be at least 'with help' to count."
    )
    assert services.inclusion.rule() == InclusionRule()


# Ward populations and the excluded rate

BRAMHALL_NORTH, MANOR = "E05000779", "E05000793"


def ward_row(page: SettingsPage, code: str) -> int:
    return next(row for row, ward in enumerate(page.ward_model.populations()) if ward == code)


def set_population(page: SettingsPage, code: str, population: int) -> None:
    model = page.ward_model
    assert model.setData(model.index(ward_row(page, code), WardPopulationModel.POPULATION), population)


def test_ward_model_passes_the_model_tester_and_only_populations_are_edited(
    qtmodeltester: object, services: Services
) -> None:
    model = WardPopulationModel()
    model.set_wards(services.wards.wards())
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.rowCount() == 21
    first = [model.data(model.index(0, column)) for column in range(3)]
    assert first == [BRAMHALL_NORTH, "Bramhall North", "12,807"]
    assert model.data(model.index(0, WardPopulationModel.POPULATION), Qt.ItemDataRole.EditRole) == 12_807
    assert not model.flags(model.index(0, WardPopulationModel.NAME)) & Qt.ItemFlag.ItemIsEditable
    assert model.flags(model.index(0, WardPopulationModel.POPULATION)) & Qt.ItemFlag.ItemIsEditable
    assert not model.setData(model.index(0, WardPopulationModel.NAME), "Bramhall")
    assert not model.setData(model.index(0, WardPopulationModel.POPULATION), "lots")
    assert model.setData(model.index(0, WardPopulationModel.POPULATION), 13_100)
    assert model.populations()[BRAMHALL_NORTH] == 13_100
    assert model.data(model.index(0, WardPopulationModel.POPULATION)) == "13,100"


def test_the_populations_rate_and_source_are_shown_with_the_borough_totals(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    assert page.excluded_rate_box.value() == 13.0
    assert page.excluded_rate_box.text() == "13.0 %"
    assert page.population_source_field.text() == services.wards.population_source()
    assert page.ward_model.populations() == {ward.code: ward.population for ward in services.wards.wards()}
    assert page.ward_totals == (
        "Borough population: 294,197. Estimated digitally excluded at 13.0%: 38,246 residents."
    )
    # The totals follow the form as it is edited, before anything is saved.
    set_population(page, BRAMHALL_NORTH, 12_807 + 1_000)
    page.excluded_rate_box.setValue(10)
    assert page.ward_totals == (
        "Borough population: 295,197. Estimated digitally excluded at 10.0%: 29,518 residents."
    )
    assert services.wards.excluded_rate() == 0.13


def test_new_populations_and_rate_are_saved_and_read_back(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    set_population(page, BRAMHALL_NORTH, 13_020)
    set_population(page, MANOR, 14_001)
    page.excluded_rate_box.setValue(15.5)
    page.population_source_field.setText("ONS mid-2023 ward population estimates")
    with qtbot.waitSignal(page.wards_saved):
        button(page, "Save the ward populations and excluded rate").click()
    assert page.wards_message == "Saved. The monthly report estimates the digitally excluded from these."
    saved = {ward.code: ward.population for ward in services.wards.wards()}
    assert (saved[BRAMHALL_NORTH], saved[MANOR]) == (13_020, 14_001)
    assert services.wards.excluded_rate() == 0.155
    assert services.wards.population_source() == "ONS mid-2023 ward population estimates"
    again = make_page(services, tasks, qtbot)
    assert again.excluded_rate_box.value() == 15.5
    assert again.ward_model.populations() == saved


def test_bad_values_are_refused_beside_their_fields_and_nothing_is_saved(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    page.show()
    set_population(page, BRAMHALL_NORTH, 13_500)  # good, but saved only with the rest
    set_population(page, MANOR, 0)
    page.population_source_field.setText("   ")
    assert page.save_wards() is False
    assert page.wards_problem("source") == (
        "Say where the populations come from, e.g. 'ONS mid-2023 estimates': reports cite it."
    )
    assert page.wards_problem("populations") == (
        "Manor: give the population as a whole number between 1 and 500,000 (0 is not one)."
    )
    assert page.wards_problem("excluded_rate") == ""
    assert page.wards_message == "Nothing was saved: correct the values marked Problem."
    assert page.focusWidget() is page.population_source_field
    manor = page.ward_model.index(ward_row(page, MANOR), WardPopulationModel.POPULATION)
    assert manor.data(Qt.ItemDataRole.ToolTipRole) == page.wards_problem("populations")
    assert manor.data(Qt.ItemDataRole.FontRole).bold()
    assert page.ward_table.accessibleDescription() == page.wards_problem("populations")
    assert {ward.code: ward.population for ward in services.wards.wards()}[BRAMHALL_NORTH] == 12_807

    page.population_source_field.setText("Council estimate, March 2026")
    assert page.save_wards() is False
    assert page.wards_problem("source") == ""
    assert page.focusWidget() is page.ward_table  # on Manor's population, ready to type
    assert page.ward_table.currentIndex() == manor

    set_population(page, MANOR, 13_900)
    assert manor.data(Qt.ItemDataRole.ToolTipRole) is None  # the mark goes once the value changes
    assert page.save_wards() is True
    assert page.wards_problem("populations") == ""
    saved = {ward.code: ward.population for ward in services.wards.wards()}
    assert (saved[BRAMHALL_NORTH], saved[MANOR]) == (13_500, 13_900)


def test_an_excluded_rate_of_0_is_refused_and_saves_no_population(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    page.show()
    page.excluded_rate_box.setValue(0)
    set_population(page, MANOR, 14_000)
    assert page.save_wards() is False
    assert page.wards_problem("excluded_rate") == check_excluded_rate(0.0)
    assert page.excluded_rate_box.accessibleDescription() == page.wards_problem("excluded_rate")
    assert page.focusWidget() is page.excluded_rate_box
    assert services.wards.excluded_rate() == 0.13
    assert {ward.code: ward.population for ward in services.wards.wards()}[MANOR] == 13_854


def test_every_problem_with_the_estimate_is_shown_at_once(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    page.show()
    page.excluded_rate_box.setValue(0)
    page.population_source_field.setText("")
    set_population(page, MANOR, 0)
    assert page.save_wards() is False
    assert page.wards_problem("excluded_rate") == check_excluded_rate(0.0)
    assert page.wards_problem("source").startswith("Say where the populations come from")
    assert page.wards_problem("populations").startswith("Manor: give the population as a whole number")
    assert page.focusWidget() is page.excluded_rate_box  # the first field marked


def test_the_rate_and_save_are_reached_with_alt_keys(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    QTest.keyClick(page, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # Exclu&ded rate
    qtbot.waitUntil(page.excluded_rate_box.hasFocus)
    page.excluded_rate_box.setValue(14)
    with qtbot.waitSignal(page.wards_saved):
        QTest.keyClick(page, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # Save &populations and rate
    assert services.wards.excluded_rate() == 0.14


def test_saving_populations_keeps_a_finer_rate_set_elsewhere(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    services.wards.set_excluded_rate(0.1234)  # e.g. from the command line
    page = make_page(services, tasks, qtbot)
    assert page.excluded_rate_box.value() == 12.3
    set_population(page, MANOR, 14_000)
    assert page.save_wards() is True
    assert services.wards.excluded_rate() == 0.1234


def test_a_population_is_typed_in_the_table_with_the_keyboard(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    table = page.ward_table
    assert table.accessibleName() == "Ward populations"
    assert page.population_source_field.accessibleName() == "Source of the ward populations"
    table.setFocus()
    assert table.currentIndex() == page.ward_model.index(0, WardPopulationModel.POPULATION)
    QTest.keyClick(table, Qt.Key.Key_Down)
    QTest.keyClick(table, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QSpinBox)
    assert editor.accessibleName() == "Population of Bramhall South and Woodford"
    editor.selectAll()
    QTest.keyClicks(editor, "12600")
    QTest.keyClick(editor, Qt.Key.Key_Return)  # the table takes the value once the editor closes
    qtbot.waitUntil(lambda: page.ward_model.populations()["E05000780"] == 12_600)
    assert QApplication.focusWidget() is table
    assert page.ward_totals.startswith("Borough population: 294,290.")
    QTest.keyClick(table, Qt.Key.Key_Tab)  # Tab leaves the table for the next control
    assert QApplication.focusWidget() is button(page, "Save the ward populations and excluded rate")


# Digital Champions' training and DBS checks


def test_champion_rules_are_shown_saved_and_refused_in_words(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    page.show()
    assert [
        page.champion_rule_box(name).value() for name in ("training_months", "dbs_months", "warn_days")
    ] == [
        24,
        36,
        30,
    ]
    page.champion_rule_box("training_months").setValue(0)
    page.champion_rule_box("warn_days").setValue(200)
    assert page.save_champion_rules() is False
    assert page.champion_rules_problem("training_months") == "Training lasts between 1 and 120 months."
    assert page.champion_rules_problem("dbs_months") == ""
    assert page.champion_rules_problem("warn_days") == "Warn between 1 and 180 days before."
    assert page.champion_rules_message.startswith("The rules were not saved")
    assert page.focusWidget() is page.champion_rule_box("training_months")
    assert services.champions.rules() == ChampionRules()

    page.champion_rule_box("training_months").setValue(12)
    page.champion_rule_box("dbs_months").setValue(24)
    page.champion_rule_box("warn_days").setValue(45)
    with qtbot.waitSignal(page.champion_rules_saved):
        button(page, "Save the champions' training and DBS rules").click()
    assert page.champion_rules_message.startswith("Saved.")
    assert page.champion_rules_problem("training_months") == page.champion_rules_problem("warn_days") == ""
    assert services.champions.rules() == ChampionRules(training_months=12, dbs_months=24, warn_days=45)


def test_an_alt_key_brings_its_field_below_the_fold_into_view(
    qtbot: QtBot, services: Services, tasks: TaskRunner
) -> None:
    page = make_page(services, tasks, qtbot)
    page.resize(900, 400)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    training = page.champion_rule_box("training_months")
    assert training.visibleRegion().isEmpty()  # far below the venues and the lending rules
    QTest.keyClick(page, Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier)  # Training e&xpires after
    qtbot.waitUntil(training.hasFocus)
    assert not training.visibleRegion().isEmpty()
