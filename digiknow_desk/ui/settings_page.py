"""Settings: the venues where the scheme works, the lending rules, who counts as digitally included, the ward
populations and the excluded rate behind the monthly report's estimate, how long Digital Champions' training
and DBS checks last, and the postcode-to-ward table."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import ChampionRules
from digiknow_desk.domain.devices import DeviceType
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.inclusion import InclusionRule
from digiknow_desk.domain.postcodes import ImportSummary
from digiknow_desk.domain.skills import LIFE_AREAS, SkillLevel
from digiknow_desk.domain.venues import Venue, VenueDraft, Ward
from digiknow_desk.services.wards import estimated_excluded
from digiknow_desk.ui.device_dialog import PROBLEM_PREFIX, problem_label, show_problem
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.import_dialog import CSV_FILTER, OpenPathAsker, ask_open_path
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress

_Index = QModelIndex | QPersistentModelIndex


class VenueTableModel(QAbstractTableModel):
    NAME, WARD, ACTIVE = range(3)
    HEADERS = ("Venue", "Ward", "Open")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._venues: list[Venue] = []

    def set_venues(self, venues: list[Venue]) -> None:
        self.beginResetModel()
        self._venues = list(venues)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._venues)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        venue = self._venues[index.row()]
        if role == RECORD_ROLE:
            return venue
        if role == Qt.ItemDataRole.DisplayRole:
            return (venue.name, venue.ward_name, "Yes" if venue.active else "No (closed)")[index.column()]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None


class VenueDialog(QDialog):
    """Add or edit one venue; saves through the venue service and shows refusals beside the fields."""

    def __init__(self, services: Services, venue: Venue | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._venue = venue
        self.saved: Venue | None = None
        self.setWindowTitle("Edit venue" if venue else "Add a venue")
        self._name = QLineEdit(venue.name if venue else "")
        self._name.setAccessibleName("Venue name")
        self._ward = QComboBox()
        self._ward.setAccessibleName("Ward")
        wards: list[Ward] = services.venues.wards()
        self._ward.addItem("Choose the ward…", "")
        for ward in wards:
            self._ward.addItem(ward.name, ward.code)
        if venue:
            self._ward.setCurrentIndex(self._ward.findData(venue.ward_code))
        self._active = QCheckBox("&Open (devices can be lent here)")
        self._active.setAccessibleName("Venue is open")
        self._active.setChecked(venue.active if venue else True)
        self._message = QLabel()
        self._message.setTextFormat(Qt.TextFormat.PlainText)
        self._message.setWordWrap(True)
        self._message.setAccessibleName("Problems")
        form = QFormLayout()
        name_label = QLabel("&Name:")
        name_label.setBuddy(self._name)
        ward_label = QLabel("&Ward:")
        ward_label.setBuddy(self._ward)
        form.addRow(name_label, self._name)
        form.addRow(ward_label, self._ward)
        form.addRow("", self._active)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setAccessibleName("Save venue")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._message)
        layout.addWidget(buttons)

    def set_values(self, name: str, ward_code: str, active: bool = True) -> None:
        self._name.setText(name)
        self._ward.setCurrentIndex(max(0, self._ward.findData(ward_code)))
        self._active.setChecked(active)

    @property
    def message(self) -> str:
        return self._message.text()

    def save(self) -> None:
        draft = VenueDraft(
            name=self._name.text(), ward_code=self._ward.currentData() or "", active=self._active.isChecked()
        )
        try:
            if self._venue is None:
                self.saved = self._services.venues.add(draft)
            else:
                self.saved = self._services.venues.update(self._venue.id, draft)
        except ValidationError as error:
            self._message.setText("\n".join(error.problems.values()))
            return
        self.accept()

    @classmethod
    def ask(
        cls, services: Services, venue: Venue | None = None, parent: QWidget | None = None
    ) -> Venue | None:
        dialog = cls(services, venue, parent)
        dialog.exec()
        return dialog.saved


class WardPopulationModel(QAbstractTableModel):
    """The 21 wards with their populations, which staff edit in place until they save."""

    CODE, NAME, POPULATION = range(3)
    HEADERS = ("ONS code", "Ward", "Population")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._wards: list[Ward] = []
        self._problems: dict[str, str] = {}  # by ward code: why its population was refused

    def set_wards(self, wards: list[Ward]) -> None:
        self.beginResetModel()
        self._wards = list(wards)
        self._problems = {}
        self.endResetModel()

    def set_problems(self, problems: dict[str, str]) -> None:
        """Mark the populations the ward service refused (bold, with the reason as a tip)."""
        self._problems = {ward.code: problems[ward.code] for ward in self._wards if ward.code in problems}
        if self._wards:
            column = self.POPULATION
            self.dataChanged.emit(self.index(0, column), self.index(len(self._wards) - 1, column))

    def populations(self) -> dict[str, int]:
        """Each ward's population as the table shows it, by ONS code."""
        return {ward.code: ward.population for ward in self._wards}

    def row_of(self, code: str) -> int:
        return next((row for row, ward in enumerate(self._wards) if ward.code == code), -1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._wards)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        ward = self._wards[index.row()]
        column = index.column()
        if role == RECORD_ROLE:
            return ward
        if role == Qt.ItemDataRole.DisplayRole:
            return (ward.code, ward.name, f"{ward.population:,}")[column]
        if role == Qt.ItemDataRole.EditRole and column == self.POPULATION:
            return ward.population
        if column != self.POPULATION:
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        problem = self._problems.get(ward.code)
        if problem and role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleDescriptionRole):
            return problem
        if problem and role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            not index.isValid()
            or index.column() != self.POPULATION
            or role != Qt.ItemDataRole.EditRole
            or not isinstance(value, int)
        ):
            return False
        ward = self._wards[index.row()]
        self._wards[index.row()] = dataclasses.replace(ward, population=value)
        self._problems.pop(ward.code, None)
        self.dataChanged.emit(index, index)
        return True

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == self.POPULATION:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None


class PopulationDelegate(QStyledItemDelegate):
    """Edits a population in a spin box named after its ward. Its range is wide on purpose: the ward
    service says what is allowed, and why."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:
        box = QSpinBox(parent)
        box.setRange(0, 9_999_999)
        box.setGroupSeparatorShown(True)
        box.setFrame(False)
        box.setAlignment(Qt.AlignmentFlag.AlignRight)
        ward = index.data(RECORD_ROLE)
        box.setAccessibleName(f"Population of {ward.name}" if isinstance(ward, Ward) else "Population")
        return box


ConfirmClear = Callable[[QWidget], bool]
"""(parent) -> whether staff really want to empty the postcode-to-ward table."""

# The letter each device type's loan period is reached by (Alt+letter). A, E, S, F, G and H are taken
# on this page or in the main window. Every letter that reads naturally is then taken (only J, Q and Z are
# left), so of the inclusion rule's, the ward estimate's and the champions' fields only the first of each
# group and the Save buttons have one, and the ward estimate's two take D and P from the phone and data SIM
# loan periods; Tab reaches the rest.
_TYPE_MNEMONICS = {
    DeviceType.TABLET: "t",
    DeviceType.LAPTOP: "l",
    DeviceType.CHROMEBOOK: "c",
    DeviceType.MIFI: "m",
    DeviceType.ACCESSORY: "y",
}
_SPIN_MAXIMUM = 999  # wide on purpose: the lending service says what is allowed, and why


def ask_to_clear(parent: QWidget) -> bool:
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Clear the postcode table",
        "Remove every postcode from the postcode-to-ward table? The resident form stops suggesting "
        "wards until a table is imported again.",
        QMessageBox.StandardButton.NoButton,
        parent,
    )
    clear = box.addButton("Clear the table", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep it", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.exec()
    return box.clickedButton() is clear


def _with_mnemonic(text: str, letter: str | None) -> str:
    """`text` with an '&' before the first `letter` in it (any case), so Alt+letter reaches its field."""
    at = text.lower().find(letter) if letter else -1
    return text if at < 0 else f"{text[:at]}&{text[at:]}"


def _number_box(name: str, suffix: str = " days") -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, _SPIN_MAXIMUM)
    box.setSuffix(suffix)
    box.setAccessibleName(name)
    return box


_FULL_WIDTH = Qt.AlignmentFlag(0)  # no alignment: the field takes the cell's width


def _add_field(
    form: QFormLayout,
    caption_text: str,
    field: QWidget,
    problem: QLabel,
    alignment: Qt.AlignmentFlag = _FULL_WIDTH,
) -> None:
    """A form row: the caption (its mnemonic reaching `field`), the field, and its problem under it."""
    caption = QLabel(caption_text)
    caption.setBuddy(field)
    cell = QVBoxLayout()
    cell.addWidget(field, 0, alignment)
    cell.addWidget(problem)
    form.addRow(caption, cell)


def _save_row(save: QPushButton, message: QLabel) -> QHBoxLayout:
    """A section's Save button with the words that say how the last save went beside it."""
    row = QHBoxLayout()
    row.addWidget(save)
    row.addWidget(message, 1)
    return row


def _words_label(name: str) -> QLabel:
    """A label of plain words that keyboard and screen-reader users can reach and select."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    label.setAccessibleName(name)
    return label


def changed_words(changed: int) -> str:
    """What saving the inclusion rule did: 'Saved. 123 residents' statuses changed.'"""
    if changed == 0:
        return "Saved. No resident's status changed."
    if changed == 1:
        return "Saved. 1 resident's status changed."
    return f"Saved. {changed:,} residents' statuses changed."


class SettingsPage(QWidget):
    venues_changed = Signal()
    rules_saved = Signal()
    inclusion_rule_saved = Signal(int)  # how many residents' statuses the new rule changed
    inclusion_rule_failed = Signal(str)  # why the rule was not saved, in words
    champion_rules_saved = Signal()
    wards_saved = Signal()  # new ward populations or excluded rate: the monthly report's estimate changed
    postcode_import_finished = Signal(str)  # what the import did, or why it failed, in words

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        open_path: OpenPathAsker = ask_open_path,
        confirm_clear: ConfirmClear = ask_to_clear,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._ask_open_path = open_path  # tests pass stand-ins for the modal file chooser and question
        self._confirm_clear = confirm_clear
        self._task: Task | None = None
        self._inclusion_task: Task | None = None
        self._model = VenueTableModel(self)
        self._table = QTableView()
        self._table.setModel(self._model)
        self._table.setAccessibleName("Venues")
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        self._table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._table.setMinimumHeight(self.fontMetrics().lineSpacing() * 10)
        self._table.doubleClicked.connect(lambda _index: self.edit_venue())
        add = QPushButton("&Add venue…")
        add.setAccessibleName("Add venue")
        add.clicked.connect(self.add_venue)
        edit = QPushButton("&Edit venue…")
        edit.setAccessibleName("Edit venue")
        edit.clicked.connect(self.edit_venue)
        heading = QLabel(
            "<h2>Venues</h2><p>The libraries, Starting Point and community venues where the scheme "
            "works. Each device has a home venue and a current one.</p>"
        )
        heading.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(edit)
        buttons.addStretch()
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(heading)
        layout.addWidget(self._table)
        layout.addLayout(buttons)
        layout.addWidget(self._build_rules())
        layout.addWidget(self._build_inclusion())
        layout.addWidget(self._build_wards())
        layout.addWidget(self._build_champion_rules())
        layout.addWidget(self._build_postcodes())
        layout.addStretch()
        scroll = QScrollArea()  # large text or a small screen scrolls rather than squeezes the page
        self._scroll = scroll
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        # An Alt key can jump to a field below the fold: bring whatever takes the focus into view.
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._show_focused)
        self.refresh()

    @property
    def model(self) -> VenueTableModel:
        return self._model

    def _show_focused(self, _old: QWidget | None, new: QWidget | None) -> None:
        content = self._scroll.widget()
        if new is not None and content is not None and content.isAncestorOf(new):
            self._scroll.ensureWidgetVisible(new)

    def refresh(self) -> None:
        """Read the venues, the rules, the ward populations and the size of the postcode table again."""
        self._model.set_venues(self._services.venues.venues())
        self._show_rules()
        self._show_inclusion_rule()
        self._show_wards()
        self._show_champion_rules()
        self._show_postcode_count()

    def add_venue(self) -> None:
        if VenueDialog.ask(self._services, None, self) is not None:
            self.refresh()
            self.venues_changed.emit()

    def edit_venue(self) -> None:
        index = self._table.currentIndex()
        if not index.isValid():
            return
        venue = self._model.data(index, RECORD_ROLE)
        if VenueDialog.ask(self._services, venue, self) is not None:
            self.refresh()
            self.venues_changed.emit()

    # Lending rules

    def loan_days_box(self, device_type: DeviceType) -> QSpinBox:
        """The loan period of a device type (tests drive the form through these)."""
        return self._loan_days[device_type]

    def rule_box(self, name: str) -> QSpinBox:
        """'renewal_limit', 'offer_days' or 'sim_warning_days'."""
        return self._rule_boxes[name]

    def rules_problem(self, name: str) -> str:
        """The message shown under a rule ('loan_days' for the loan periods); '' when there is none."""
        return self._rule_problems[name].text().removeprefix(PROBLEM_PREFIX)

    @property
    def rules_message(self) -> str:
        return self._rules_message.text()

    def save_rules(self) -> bool:
        """Save the rules as the form shows them; False, with the reasons under the fields, if refused."""
        lending = self._services.lending
        rules = dataclasses.replace(
            lending.rules(),
            loan_days={kind: box.value() for kind, box in self._loan_days.items()},
            **{name: box.value() for name, box in self._rule_boxes.items()},
        )
        try:
            lending.set_rules(rules)
        except ValidationError as error:
            for name, label in self._rule_problems.items():
                field = self._rule_boxes.get(name, self._periods_group)
                show_problem(label, field, error.problems.get(name, ""))
            self._rules_message.setText("The rules were not saved: correct the values marked Problem.")
            first = next(iter(error.problems))
            if first in self._rule_boxes:
                self._rule_boxes[first].setFocus()
            else:
                self._loan_days[next(iter(DeviceType))].setFocus()
            return False
        self._show_rules()
        self._rules_message.setText(
            "Saved. The rules apply from now on; loans already out keep their due dates until renewed."
        )
        self.rules_saved.emit()
        return True

    def _build_rules(self) -> QGroupBox:
        box = QGroupBox("Lending rules")
        intro = QLabel(
            "How long each kind of device is lent for, how often a loan can be renewed, how long a "
            "device is held for the next resident on the waiting list, and when to warn that a SIM's "
            "data is running out."
        )
        intro.setWordWrap(True)
        self._periods_group = QGroupBox("Loan period")
        self._periods_group.setAccessibleName("Loan period for each type of device")
        periods = QFormLayout(self._periods_group)
        periods.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self._loan_days: dict[DeviceType, QSpinBox] = {}
        for kind in DeviceType:
            spin = _number_box(f"Loan period for a {kind.label}, in days")
            caption = QLabel(_with_mnemonic(f"{kind.label}:", _TYPE_MNEMONICS.get(kind)))
            caption.setBuddy(spin)
            periods.addRow(caption, spin)
            self._loan_days[kind] = spin
        self._rule_problems: dict[str, QLabel] = {"loan_days": problem_label()}
        periods.addRow(self._rule_problems["loan_days"])
        self._rule_boxes: dict[str, QSpinBox] = {
            "renewal_limit": _number_box("Renewals allowed", suffix=""),
            "offer_days": _number_box("Days an offer is held"),
            "sim_warning_days": _number_box("Days before a SIM's data runs out to warn"),
        }
        others = QFormLayout()
        others.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for name, caption_text in (
            ("renewal_limit", "&Renewals allowed:"),
            ("offer_days", "Days an &offer is held:"),
            ("sim_warning_days", "&Warn this many days before a SIM's data runs out:"),
        ):
            self._rule_problems[name] = problem_label()
            _add_field(others, caption_text, self._rule_boxes[name], self._rule_problems[name])
        save = QPushButton("Sa&ve rules")
        save.setAccessibleName("Save the lending rules")
        save.clicked.connect(self.save_rules)
        self._rules_message = _words_label("Lending rules saved or not")
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addWidget(self._periods_group)
        layout.addLayout(others)
        layout.addLayout(_save_row(save, self._rules_message))
        return box

    def _show_rules(self) -> None:
        rules = self._services.lending.rules()
        for kind, spin in self._loan_days.items():
            spin.setValue(rules.loan_days[kind])
        for name, spin in self._rule_boxes.items():
            spin.setValue(getattr(rules, name))
        for name, label in self._rule_problems.items():
            show_problem(label, self._rule_boxes.get(name, self._periods_group), "")

    # Who counts as digitally included

    @property
    def foundation_box(self) -> QComboBox:
        return self._foundation

    @property
    def areas_alone_box(self) -> QSpinBox:
        return self._areas_alone

    @property
    def loans_count_box(self) -> QCheckBox:
        return self._loans_count

    @property
    def rule_text(self) -> str:
        """The rule as the form shows it, in plain English (InclusionRule.describe())."""
        return self._rule_text.text()

    @property
    def inclusion_message(self) -> str:
        return self._inclusion_message.text()

    def inclusion_rule(self) -> InclusionRule:
        """The rule as the form shows it now."""
        return InclusionRule(
            foundation=SkillLevel(self._foundation.currentData()),
            areas_alone=self._areas_alone.value(),
            loans_count_as_access=self._loans_count.isChecked(),
        )

    def save_inclusion_rule(self) -> Task | None:
        """Save the rule and work out every resident's status by it, in the background (with many
        residents it takes a moment); None when refused or already saving."""
        if self._inclusion_task is not None:
            return None
        rule = self.inclusion_rule()
        if problems := rule.problems():
            self._show_inclusion_problems(problems)
            return None
        self._show_inclusion_problems({})
        inclusion = self._services.inclusion

        def succeeded(changed: int) -> None:
            self._inclusion_task = None
            self._save_rule.setEnabled(True)
            self._inclusion_message.setText(changed_words(changed))
            self._scroll.ensureWidgetVisible(self._inclusion_message)  # Alt+U saves from anywhere
            self.inclusion_rule_saved.emit(changed)

        def failed(error: Exception) -> None:
            self._inclusion_task = None
            self._save_rule.setEnabled(True)
            if isinstance(error, ValidationError):
                self._show_inclusion_problems(error.problems)
            else:
                self._inclusion_message.setText(problem_words(error))  # raises anything but a refusal
            self.inclusion_rule_failed.emit(self._inclusion_message.text())

        self._save_rule.setEnabled(False)
        self._inclusion_message.setText("Saving the rule and working out every resident's status by it…")
        self._inclusion_task = run_with_progress(
            self._tasks,
            self,
            "Working out every resident's inclusion status by the new rule…",
            lambda _progress: inclusion.set_rule(rule),
            succeeded,
            failed,
            cancellable=False,  # one transaction: it saves whole or not at all
        )
        return self._inclusion_task

    def _build_inclusion(self) -> QGroupBox:
        box = QGroupBox("Who counts as digitally included")
        intro = QLabel(
            "Each resident's inclusion status is worked out from their records (skills checks, loans and "
            "support sessions), never typed in. Saving a new rule works every resident's status out again; "
            "reports print the rule beside the figures that use it."
        )
        intro.setWordWrap(True)
        self._foundation = QComboBox()
        self._foundation.setAccessibleName("Foundation skills done at least")
        self._foundation.addItem("Alone", SkillLevel.ALONE.value)
        self._foundation.addItem("With help", SkillLevel.WITH_HELP.value)
        self._areas_alone = QSpinBox()
        self._areas_alone.setRange(0, len(LIFE_AREAS))
        self._areas_alone.setSuffix(f" of {len(LIFE_AREAS)}")
        self._areas_alone.setAccessibleName("Other skill areas done alone")
        self._loans_count = QCheckBox("Devices on loan count as access (a device, a connection or both)")
        self._loans_count.setAccessibleName("Devices on loan count as access")
        self._inclusion_problems = {"foundation": problem_label(), "areas_alone": problem_label()}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for caption_text, name, field in (
            ("Foundation s&kills done at least:", "foundation", self._foundation),
            ("Other areas do&ne alone:", "areas_alone", self._areas_alone),
        ):
            _add_field(form, caption_text, field, self._inclusion_problems[name])
        form.addRow("", self._loans_count)
        self._rule_text = _words_label("The rule in words")
        self._save_rule = QPushButton("Save incl&usion rule")
        self._save_rule.setAccessibleName("Save the inclusion rule")
        self._save_rule.setToolTip("Save the rule and work out every resident's status by it")
        self._save_rule.clicked.connect(self.save_inclusion_rule)
        self._inclusion_message = _words_label("Inclusion rule saved or not")
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self._rule_text)
        layout.addLayout(_save_row(self._save_rule, self._inclusion_message))
        self._foundation.currentIndexChanged.connect(self._describe_rule)
        self._areas_alone.valueChanged.connect(self._describe_rule)
        self._loans_count.toggled.connect(self._describe_rule)
        return box

    def _show_inclusion_rule(self) -> None:
        rule = self._services.inclusion.rule()
        self._foundation.setCurrentIndex(max(0, self._foundation.findData(rule.foundation.value)))
        self._areas_alone.setValue(rule.areas_alone)
        self._loans_count.setChecked(rule.loans_count_as_access)
        self._show_inclusion_problems({})
        self._describe_rule()

    def _describe_rule(self) -> None:
        self._rule_text.setText("In words: " + self.inclusion_rule().describe())

    def _show_inclusion_problems(self, problems: dict[str, str]) -> None:
        fields: dict[str, QWidget] = {"foundation": self._foundation, "areas_alone": self._areas_alone}
        for name, label in self._inclusion_problems.items():
            show_problem(label, fields[name], problems.get(name, ""))
        if problems:
            self._inclusion_message.setText("The rule was not saved: correct the values marked Problem.")
            fields.get(next(iter(problems)), self._foundation).setFocus()

    # Ward populations and the excluded rate

    @property
    def ward_model(self) -> WardPopulationModel:
        return self._ward_model

    @property
    def ward_table(self) -> QTableView:
        return self._ward_table

    @property
    def excluded_rate_box(self) -> QDoubleSpinBox:
        """The excluded rate, in percent."""
        return self._excluded_rate

    @property
    def population_source_field(self) -> QLineEdit:
        return self._population_source

    @property
    def ward_totals(self) -> str:
        return self._ward_totals.text()

    @property
    def wards_message(self) -> str:
        return self._wards_message.text()

    def wards_problem(self, name: str) -> str:
        """The message under 'excluded_rate', 'source' or 'populations' (every ward's); '' if none."""
        return self._ward_problems[name].text().removeprefix(PROBLEM_PREFIX)

    def save_wards(self) -> bool:
        """Save the excluded rate and the table's populations with their source, all or nothing; False,
        with the reasons under the fields, if refused."""
        percent = self._excluded_rate.value()
        # Unchanged, the saved rate stays as it is (a rate set from the command line may have more decimals).
        rate = self._saved_rate if percent == self._shown_percent else round(percent / 100, 4)
        try:
            self._services.wards.save_estimate(
                self._ward_model.populations(), self._population_source.text(), rate
            )
        except ValidationError as error:
            self._show_ward_problems(error.problems)
            return False
        self._show_wards()
        self._wards_message.setText("Saved. The monthly report estimates the digitally excluded from these.")
        self._scroll.ensureWidgetVisible(self._wards_message)
        self.wards_saved.emit()
        return True

    def _build_wards(self) -> QGroupBox:
        box = QGroupBox("Ward populations and the excluded rate")
        intro = QLabel(
            "The monthly report measures residents included against an estimate of the digitally excluded: "
            "each ward's population times the excluded rate. Enter new population estimates when they are "
            "published, with where they come from: reports cite the source."
        )
        intro.setWordWrap(True)
        self._excluded_rate = QDoubleSpinBox()
        self._excluded_rate.setRange(0.0, 100.0)  # wide on purpose: the service says what is allowed
        self._excluded_rate.setDecimals(1)
        self._excluded_rate.setSingleStep(0.5)
        self._excluded_rate.setSuffix(" %")
        self._excluded_rate.setAccessibleName("Excluded rate, in percent")
        self._population_source = QLineEdit()
        self._population_source.setAccessibleName("Source of the ward populations")
        self._population_source.setPlaceholderText("e.g. ONS mid-2023 population estimates")
        self._ward_problems = {name: problem_label() for name in ("excluded_rate", "source", "populations")}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)  # the source line grows
        for caption_text, name, field, alignment in (
            ("Exclu&ded rate:", "excluded_rate", self._excluded_rate, Qt.AlignmentFlag.AlignLeft),
            ("Source of the populations:", "source", self._population_source, _FULL_WIDTH),
        ):
            problem = self._ward_problems[name]
            # The problem takes the row's width, so it is not wrapped into the rate box's width and cut off.
            problem.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            _add_field(form, caption_text, field, problem, alignment)
        self._ward_model = WardPopulationModel(self)
        self._ward_table = QTableView()
        self._ward_table.setModel(self._ward_model)
        self._ward_table.setAccessibleName("Ward populations")
        self._ward_table.setAccessibleDescription("Type a ward's new population in the Population column.")
        self._ward_table.setItemDelegateForColumn(WardPopulationModel.POPULATION, PopulationDelegate(self))
        self._ward_table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        self._ward_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._ward_table.setAlternatingRowColors(True)
        self._ward_table.verticalHeader().setVisible(False)
        self._ward_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # all 21 show
        header = self._ward_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WardPopulationModel.NAME, QHeaderView.ResizeMode.Stretch)
        self._ward_totals = _words_label("Borough totals")
        save = QPushButton("Save &populations and rate")
        save.setAccessibleName("Save the ward populations and excluded rate")
        save.clicked.connect(self.save_wards)
        self._wards_message = _words_label("Ward populations saved or not")
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self._ward_table)
        layout.addWidget(self._ward_problems["populations"])
        layout.addWidget(self._ward_totals)
        layout.addLayout(_save_row(save, self._wards_message))
        self._excluded_rate.valueChanged.connect(self._show_ward_totals)
        self._ward_model.dataChanged.connect(self._show_ward_totals)
        return box

    def _show_wards(self) -> None:
        wards = self._services.wards
        self._saved_rate = wards.excluded_rate()
        self._excluded_rate.setValue(self._saved_rate * 100)
        self._shown_percent = self._excluded_rate.value()  # as the box rounds it
        self._population_source.setText(wards.population_source())
        self._population_source.setCursorPosition(0)  # a long source shows its start
        self._ward_model.set_wards(wards.wards())
        self._ward_table.selectionModel().setCurrentIndex(  # where the keyboard starts, not a selection
            self._ward_model.index(0, WardPopulationModel.POPULATION),
            QItemSelectionModel.SelectionFlag.NoUpdate,
        )
        self._fit_ward_table()
        self._show_ward_problems({})
        self._show_ward_totals()

    def _fit_ward_table(self) -> None:
        """Make the table tall enough for every ward, so the page scrolls rather than the table."""
        table = self._ward_table
        table.resizeRowsToContents()
        frame = 2 * table.frameWidth()
        table.setFixedHeight(
            table.horizontalHeader().sizeHint().height() + table.verticalHeader().length() + frame
        )

    def _show_ward_totals(self) -> None:
        percent = self._excluded_rate.value()
        populations = self._ward_model.populations().values()
        excluded = sum(estimated_excluded(population, percent / 100) for population in populations)
        self._ward_totals.setText(
            f"Borough population: {sum(populations):,}. Estimated digitally excluded at {percent:.1f}%: "
            f"{excluded:,} residents."
        )

    def _show_ward_problems(self, problems: dict[str, str]) -> None:
        """Show each problem under its field (every ward's under the table) and focus the first."""
        fields: dict[str, QWidget] = {
            "excluded_rate": self._excluded_rate,
            "source": self._population_source,
            "populations": self._ward_table,
        }
        ward_problems = [
            message for name, message in problems.items() if name not in fields or name == "populations"
        ]
        for name, label in self._ward_problems.items():
            message = "\n".join(ward_problems) if name == "populations" else problems.get(name, "")
            show_problem(label, fields[name], message)
        self._ward_model.set_problems(problems)
        if not problems:
            return
        self._wards_message.setText("Nothing was saved: correct the values marked Problem.")
        if first := next((name for name in ("excluded_rate", "source") if name in problems), None):
            fields[first].setFocus()
            return
        row = next((row for name in problems if (row := self._ward_model.row_of(name)) >= 0), 0)
        self._ward_table.setCurrentIndex(self._ward_model.index(row, WardPopulationModel.POPULATION))
        self._ward_table.setFocus()

    # Digital Champions' training and DBS checks

    def champion_rule_box(self, name: str) -> QSpinBox:
        """'training_months', 'dbs_months' or 'warn_days'."""
        return self._champion_boxes[name]

    def champion_rules_problem(self, name: str) -> str:
        return self._champion_problems[name].text().removeprefix(PROBLEM_PREFIX)

    @property
    def champion_rules_message(self) -> str:
        return self._champion_message.text()

    def save_champion_rules(self) -> bool:
        """Save how long training and DBS checks last and when to warn; False, with the reasons under the
        fields, if refused."""
        rules = ChampionRules(**{name: box.value() for name, box in self._champion_boxes.items()})
        try:
            self._services.champions.set_rules(rules)
        except ValidationError as error:
            for name, label in self._champion_problems.items():
                show_problem(label, self._champion_boxes[name], error.problems.get(name, ""))
            self._champion_message.setText("The rules were not saved: correct the values marked Problem.")
            self._champion_boxes[next(iter(error.problems))].setFocus()
            return False
        self._show_champion_rules()
        self._champion_message.setText(
            "Saved. Champions' warnings use these from now on, counted from their recorded training and "
            "DBS dates."
        )
        self._scroll.ensureWidgetVisible(self._champion_message)
        self.champion_rules_saved.emit()
        return True

    def _build_champion_rules(self) -> QGroupBox:
        box = QGroupBox("Digital Champions' training and DBS checks")
        intro = QLabel(
            "How long a champion's training and DBS check last, and how many days before either lapses "
            "the app starts to warn."
        )
        intro.setWordWrap(True)
        self._champion_boxes: dict[str, QSpinBox] = {
            "training_months": _number_box("Training lasts, in months", suffix=" months"),
            "dbs_months": _number_box("A DBS check lasts, in months", suffix=" months"),
            "warn_days": _number_box("Days before either lapses to warn"),
        }
        self._champion_problems: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        for name, caption_text in (
            ("training_months", "Training e&xpires after:"),
            ("dbs_months", "A DBS check expires after:"),
            ("warn_days", "Warn this many days before either lapses:"),
        ):
            self._champion_problems[name] = problem_label()
            _add_field(form, caption_text, self._champion_boxes[name], self._champion_problems[name])
        save = QPushButton("Save champion rules")
        save.setAccessibleName("Save the champions' training and DBS rules")
        save.clicked.connect(self.save_champion_rules)
        self._champion_message = _words_label("Champions' rules saved or not")
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(_save_row(save, self._champion_message))
        return box

    def _show_champion_rules(self) -> None:
        rules = self._services.champions.rules()
        for name, spin in self._champion_boxes.items():
            spin.setValue(getattr(rules, name))
            show_problem(self._champion_problems[name], spin, "")

    # The postcode-to-ward table

    @property
    def postcode_status(self) -> str:
        return self._postcode_status.text()

    @property
    def postcode_message(self) -> str:
        """What the last import or clearing did, or why it failed."""
        return self._postcode_message.text()

    def import_postcodes(self) -> Task | None:
        """Ask for a file and import it in the background; None when one is running or staff cancel."""
        if self._task is not None:
            return None
        chosen = self._ask_open_path(self, "Choose a postcode-to-ward CSV file", CSV_FILTER)
        if not chosen:
            return None
        source = Path(chosen)
        postcodes = self._services.postcodes

        def work(progress: Progress) -> ImportSummary:
            return postcodes.import_table(source, on_progress=progress, is_cancelled=progress.cancelled)

        def succeeded(summary: ImportSummary) -> None:
            self._postcode_import_ended()
            self._say_postcode_result(summary.describe())

        def failed(error: Exception) -> None:
            self._postcode_import_ended()
            self._say_postcode_result(problem_words(error))  # raises anything but a refusal, for the handler

        self._postcode_message.setText(f"Importing {source.name}…")
        self._task = run_with_progress(
            self._tasks,
            self,
            f"Importing the postcodes in Stockport's wards from {source.name}…",
            work,
            succeeded,
            failed,
        )
        self._show_postcode_count()
        return self._task

    def clear_postcodes(self) -> None:
        """Empty the postcode-to-ward table, once staff confirm."""
        if self._task is not None or not self._confirm_clear(self):
            return
        removed = self._services.postcodes.clear()
        self._postcode_message.setText(
            f"Removed {removed:,} postcode{'' if removed == 1 else 's'}: the table is empty."
        )
        self._show_postcode_count()

    def _build_postcodes(self) -> QGroupBox:
        box = QGroupBox("Postcode-to-ward table")
        intro = QLabel(
            "With a postcode table, the resident form suggests the ward from the postcode. Import ONS's "
            "National Statistics Postcode Lookup (NSPL) CSV as it comes (only the postcodes in "
            "Stockport's 21 wards are kept), or a CSV with the columns postcode and ward. An import "
            "replaces the table."
        )
        intro.setWordWrap(True)
        self._postcode_status = _words_label("Postcode table")
        self._import_postcodes = QPushButton("&Import postcode table…")
        self._import_postcodes.setAccessibleName("Import postcode table")
        self._import_postcodes.clicked.connect(self.import_postcodes)
        self._clear_postcodes = QPushButton("Clear postcode ta&ble…")
        self._clear_postcodes.setAccessibleName("Clear postcode table")
        self._clear_postcodes.clicked.connect(self.clear_postcodes)
        self._postcode_message = _words_label("Last postcode import")
        buttons = QHBoxLayout()
        buttons.addWidget(self._import_postcodes)
        buttons.addWidget(self._clear_postcodes)
        buttons.addStretch()
        layout = QVBoxLayout(box)
        layout.addWidget(intro)
        layout.addWidget(self._postcode_status)
        layout.addLayout(buttons)
        layout.addWidget(self._postcode_message)
        return box

    def _show_postcode_count(self) -> None:
        count = self._services.postcodes.count()
        self._postcode_status.setText(
            f"{count:,} postcode{'' if count == 1 else 's'} loaded."
            if count
            else "No postcode table is loaded: the resident form cannot suggest wards."
        )
        idle = self._task is None
        self._import_postcodes.setEnabled(idle)
        self._clear_postcodes.setEnabled(idle and count > 0)

    def _postcode_import_ended(self) -> None:
        self._task = None
        self._show_postcode_count()

    def _say_postcode_result(self, message: str) -> None:
        self._postcode_message.setText(message)
        self.postcode_import_finished.emit(message)
