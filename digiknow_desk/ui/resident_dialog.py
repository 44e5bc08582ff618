"""The resident form: add or edit a resident, checked as staff type, warning about a likely duplicate."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.postcodes import postcode_key
from digiknow_desk.domain.residents import (
    AgeBand,
    Answer,
    ConsentPurpose,
    ReferralReason,
    Resident,
    ResidentDraft,
    normalise_postcode,
)
from digiknow_desk.domain.staff import Permission
from digiknow_desk.domain.venues import Ward
from digiknow_desk.services.residents import PossibleDuplicate
from digiknow_desk.ui.device_dialog import PROBLEM_PREFIX, chosen, combo_choice, problem_label, show_problem
from digiknow_desk.ui.resident_table_model import day_text

CHECK_DELAY_MS = 250
WARD_SUGGESTED = "Ward suggested from the postcode."
SENSITIVE_TITLE = "Optional and sensitive — only if the resident wishes"
LANGUAGES = (
    "English",
    "Arabic",
    "Bengali",
    "British Sign Language",
    "Cantonese",
    "Farsi",
    "Kurdish",
    "Mandarin",
    "Polish",
    "Punjabi",
    "Romanian",
    "Tigrinya",
    "Ukrainian",
    "Urdu",
)
PARTNER_SUGGESTIONS = (
    "Housing officer",
    "Jobcentre Plus",
    "School or college",
    "GP or social prescriber",
    "Library staff",
    "Self-referral",
)
# The fields that say how to reach the resident: a problem with "contact" is shown under them.
CONTACT_FIELDS = ("phone", "email", "address")


def ask_resident(
    services: Services, parent: QWidget, resident: Resident | None, name: str
) -> Resident | None:
    """Open the resident form (to edit `resident`, or to add one named `name`); the saved resident or None."""
    return ResidentDialog.ask(services, parent, resident, name=name)


# How pages open the form; tests pass a stand-in that drives the real dialog without blocking.
AskResident = Callable[[Services, QWidget, Resident | None, str], Resident | None]


def match_words(resident: Resident) -> str:
    """One possible duplicate in a line: reference, name and what matched (postcode, phone, ward)."""
    details = ", ".join(part for part in (resident.postcode, resident.phone, resident.ward_name) if part)
    return f"{resident.reference}  {resident.name}" + (f" ({details})" if details else "")


def _completer(words: tuple[str, ...], parent: QWidget) -> QCompleter:
    completer = QCompleter(QStringListModel(list(words), parent), parent)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    return completer


class ResidentDialog(QDialog):
    """Add or edit one resident. Problems show under their field as staff type; before adding someone
    who looks already registered, the form lists the matches and asks staff to confirm. When a
    postcode-to-ward table is loaded, a postcode typed in suggests the ward (never over staff's choice)."""

    checked = Signal(dict)  # after each check as staff type: field -> problem shown

    def __init__(
        self,
        services: Services,
        resident: Resident | None = None,
        parent: QWidget | None = None,
        *,
        name: str = "",
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._resident = resident
        self._problems: dict[str, str] = {}
        self._duplicates: list[Resident] = []
        # A new form shows a field's problem once staff have typed there (or pressed Save), not at once.
        self._touched: set[str] = set()
        self._show_all = resident is not None
        self.saved: Resident | None = None
        self.setWindowTitle(f"Edit resident {resident.reference}" if resident else "Add a resident")

        # The resident
        self._name = QLineEdit()
        self._name.setAccessibleName("Name")
        self._name.setMaxLength(200)
        self._age_band = QComboBox()
        self._age_band.setAccessibleName("Age band")
        for band in AgeBand:
            self._age_band.addItem(band.label, band)
        self._language = QLineEdit()
        self._language.setAccessibleName("Preferred language")
        self._language.setCompleter(_completer(LANGUAGES, self))

        # How to reach them
        self._phone = QLineEdit()
        self._phone.setAccessibleName("Phone")
        self._phone.setPlaceholderText("e.g. 0161 474 4444")
        self._email = QLineEdit()
        self._email.setAccessibleName("Email")
        self._address = QPlainTextEdit()
        self._address.setAccessibleName("Address")
        self._address.setTabChangesFocus(True)
        self._address.setMaximumHeight(self.fontMetrics().lineSpacing() * 4)
        self._postcode = QLineEdit()
        self._postcode.setAccessibleName("Postcode")
        self._postcode.setPlaceholderText("e.g. SK1 3XE")
        self._postcode.setMaxLength(10)
        self._ward = QComboBox()
        self._ward.setAccessibleName("Ward")
        self._ward.addItem("Not known", None)
        for ward in services.venues.wards():
            self._ward.addItem(ward.name, ward.code)
        # What the postcode table says about the postcode as it was last looked up.
        self._ward_note = QLabel()
        self._ward_note.setTextFormat(Qt.TextFormat.PlainText)
        self._ward_note.setWordWrap(True)
        self._ward_note.setAccessibleName("Ward from the postcode")
        self._ward_note.setVisible(False)
        self._looked_up = postcode_key(resident.postcode) if resident else ""
        self._table_ward: Ward | None = None
        self._ward_suggested = False  # the ward shown is the table's suggestion, not staff's choice
        self._suggesting = False

        # Needs and referral
        self._large_print = QCheckBox("Large prin&t")
        self._large_print.setAccessibleName("Needs large print")
        self._interpreter = QCheckBox("&Interpreter needed")
        self._interpreter.setAccessibleName("Needs an interpreter")
        self._access_needs = QLineEdit()
        self._access_needs.setAccessibleName("Other access needs")
        self._access_needs.setPlaceholderText("e.g. Uses a screen reader; step-free access")
        self._partner = QLineEdit()
        self._partner.setAccessibleName("Referring partner organisation")
        self._partner.setPlaceholderText("e.g. Housing officer, Jobcentre Plus")
        self._partner.setCompleter(_completer(PARTNER_SUGGESTIONS, self))
        self._reason = QComboBox()
        self._reason.setAccessibleName("Reason for the referral")
        for reason in ReferralReason:
            self._reason.addItem(reason.label, reason)

        # Consent, one box per purpose
        given = {consent.purpose: consent.given_on for consent in resident.consents} if resident else {}
        self._consents: dict[ConsentPurpose, QCheckBox] = {}
        for purpose in ConsentPurpose:
            box = QCheckBox(
                purpose.label + (f" (given {day_text(given[purpose])})" if purpose in given else "")
            )
            box.setAccessibleName(f"Consent: {purpose.label}")
            self._consents[purpose] = box
        self._consents_box = QGroupBox("Consent (recorded with today's date)")
        self._consents_box.setAccessibleName("Consent")

        # Optional equality questions
        self._disability = self._answer_combo("Disability (optional)")
        self._ethnicity = QLineEdit()
        self._ethnicity.setAccessibleName("Ethnicity (optional)")
        self._ethnicity.setPlaceholderText("In the resident's own words")
        self._benefits = self._answer_combo("On benefits (optional)")
        self._not_in_work = self._answer_combo(
            "Not in work, education or training (optional, under 25s only)"
        )
        self._not_in_work.setToolTip("Ask only residents under 25 (age band Under 18 or 18 to 24).")
        self._care_leaver = self._answer_combo("Care leaver (optional)")

        # The likely-duplicate warning
        self._duplicate_frame = QFrame()
        self._duplicate_frame.setFrameShape(QFrame.Shape.StyledPanel)
        self._duplicate_frame.setVisible(False)
        self._duplicate_title = QLabel()
        self._duplicate_title.setWordWrap(True)
        self._duplicate_title.setTextFormat(Qt.TextFormat.PlainText)
        bold = self._duplicate_title.font()
        bold.setBold(True)
        self._duplicate_title.setFont(bold)
        self._duplicate_list = QLabel()
        self._duplicate_list.setTextFormat(Qt.TextFormat.PlainText)
        self._duplicate_list.setWordWrap(True)
        self._different = QCheckBox("This is a di&fferent person: register them anyway")
        self._different.setAccessibleName("This is a different person")
        self._different_problem = problem_label()
        duplicate_layout = QVBoxLayout(self._duplicate_frame)
        duplicate_layout.addWidget(self._duplicate_title)
        duplicate_layout.addWidget(self._duplicate_list)
        duplicate_layout.addWidget(self._different)
        duplicate_layout.addWidget(self._different_problem)

        self._fields: dict[str, QWidget] = {
            "name": self._name,
            "age_band": self._age_band,
            "language": self._language,
            "phone": self._phone,
            "email": self._email,
            "address": self._address,
            "postcode": self._postcode,
            "ward_code": self._ward,
            "large_print": self._large_print,
            "interpreter": self._interpreter,
            "access_needs": self._access_needs,
            "referral_partner": self._partner,
            "referral_reason": self._reason,
            "consents": self._consents[ConsentPurpose.LENDING],
            "disability": self._disability,
            "ethnicity": self._ethnicity,
            "on_benefits": self._benefits,
            "not_in_work_or_education": self._not_in_work,
            "care_leaver": self._care_leaver,
        }
        self._problem_labels: dict[str, QLabel] = {}
        self._general_problem = problem_label()

        person = self._form_box(
            "Resident",
            [
                ("&Name:", "name", self._name),
                ("A&ge band:", "age_band", self._age_band),
                ("Preferred &language:", "language", self._language),
            ],
        )
        contact = self._form_box(
            "How to reach them (at least one)",
            [
                ("&Phone:", "phone", self._phone),
                ("E&mail:", "email", self._email),
                ("&Address:", "address", self._address),
            ],
        )
        self._add_problem_row(contact, "contact")
        place = self._form_box(
            "Where they live",
            [("Post&code:", "postcode", self._postcode), ("&Ward:", "ward_code", self._ward)],
        )
        place_layout = place.layout()
        assert isinstance(place_layout, QFormLayout)
        place_layout.addRow("", self._ward_note)
        needs = self._form_box("Needs", [("Acc&ess needs:", "access_needs", self._access_needs)])
        needs_layout = needs.layout()
        assert isinstance(needs_layout, QFormLayout)
        ticks = QHBoxLayout()
        ticks.addWidget(self._large_print)
        ticks.addWidget(self._interpreter)
        ticks.addStretch()
        needs_layout.insertRow(0, ticks)
        referral = self._form_box(
            "Referral",
            [
                ("Partner &organisation:", "referral_partner", self._partner),
                ("&Reason:", "referral_reason", self._reason),
            ],
        )
        consent_layout = QVBoxLayout(self._consents_box)
        for box in self._consents.values():
            consent_layout.addWidget(box)
        consent_problem = problem_label()
        self._problem_labels["consents"] = consent_problem
        consent_layout.addWidget(consent_problem)
        sensitive = self._form_box(
            SENSITIVE_TITLE,
            [
                ("&Disability:", "disability", self._disability),
                ("Et&hnicity:", "ethnicity", self._ethnicity),
                ("&Benefits:", "on_benefits", self._benefits),
                (
                    "Not in work, ed&ucation\nor training (under 25s):",
                    "not_in_work_or_education",
                    self._not_in_work,
                ),
                ("Care lea&ver:", "care_leaver", self._care_leaver),
            ],
        )
        sensitive.setAccessibleName("Optional and sensitive questions")
        sensitive.setToolTip("Ask only if the resident wants to answer; otherwise leave 'Not asked'.")

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self._save = self._buttons.button(QDialogButtonBox.StandardButton.Save)
        self._save.setAccessibleName("Save resident")
        self._save.setDefault(True)
        self._buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self._buttons.accepted.connect(self.save)
        self._buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        for group in (person, contact, place):
            left.addWidget(group)
        left.addStretch()
        right = QVBoxLayout()
        for group in (needs, referral, self._consents_box, sensitive):
            right.addWidget(group)
        staff = services.accounts.signed_in()
        if staff is None or not staff.may(Permission.SEE_SENSITIVE):
            # The answers on record are kept as they are when this role saves (see ResidentService).
            sensitive.setVisible(False)
            withheld = QLabel(f"{SENSITIVE_TITLE}: only coordinators and administrators see these answers.")
            withheld.setWordWrap(True)
            withheld.setAccessibleName("Sensitive questions withheld")
            right.addWidget(withheld)
        right.addStretch()
        columns = QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        # The form grows (never squeezes its words) when the duplicate warning or problems appear.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addLayout(columns)
        layout.addWidget(self._duplicate_frame)
        layout.addWidget(self._general_problem)
        layout.addWidget(self._buttons)
        # Tab goes down the left column, then the right, then the warning and the buttons.
        order: list[QWidget] = [
            self._name,
            self._age_band,
            self._language,
            self._phone,
            self._email,
            self._address,
            self._postcode,
            self._ward,
            self._large_print,
            self._interpreter,
            self._access_needs,
            self._partner,
            self._reason,
            *self._consents.values(),
            self._disability,
            self._ethnicity,
            self._benefits,
            self._not_in_work,
            self._care_leaver,
            self._different,
        ]
        for first, second in zip(order, order[1:], strict=False):
            self.setTabOrder(first, second)

        self._fill(resident, name)

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check_now)
        for key, line in (
            ("name", self._name),
            ("language", self._language),
            ("phone", self._phone),
            ("email", self._email),
            ("postcode", self._postcode),
            ("access_needs", self._access_needs),
            ("referral_partner", self._partner),
            ("ethnicity", self._ethnicity),
        ):
            line.textEdited.connect(lambda _text, key=key: self._changed(key))
        self._address.textChanged.connect(lambda: self._changed("address"))
        for key, combo in (
            ("age_band", self._age_band),
            ("ward_code", self._ward),
            ("referral_reason", self._reason),
            ("disability", self._disability),
            ("on_benefits", self._benefits),
            ("not_in_work_or_education", self._not_in_work),
            ("care_leaver", self._care_leaver),
        ):
            combo.currentIndexChanged.connect(lambda _row, key=key: self._changed(key))
        for key, box in (("large_print", self._large_print), ("interpreter", self._interpreter)):
            box.toggled.connect(lambda _on, key=key: self._changed(key))
        for box in self._consents.values():
            box.toggled.connect(lambda _on: self._changed("consents"))
        self._ward.currentIndexChanged.connect(self._ward_changed)
        self._postcode.editingFinished.connect(self.check_now)
        self._different.toggled.connect(
            lambda _on: show_problem(self._different_problem, self._different, "")
        )
        self.check_now()
        self._name.setFocus()
        self.resize(
            self.sizeHint().width() + self.fontMetrics().averageCharWidth() * 30, self.sizeHint().height()
        )
        self._fit_words()

    # What callers and tests use

    @classmethod
    def ask(
        cls,
        services: Services,
        parent: QWidget | None = None,
        resident: Resident | None = None,
        *,
        name: str = "",
    ) -> Resident | None:
        """Run the form; the saved resident, or None when staff cancel."""
        dialog = cls(services, resident, parent, name=name)
        dialog.exec()
        return dialog.saved

    def field(self, name: str) -> QWidget:
        """The widget for a draft field (tests drive the form through these)."""
        return self._fields[name]

    def consent_box(self, purpose: ConsentPurpose) -> QCheckBox:
        return self._consents[purpose]

    @property
    def different_person(self) -> QCheckBox:
        """'This is a different person': ticked, a likely duplicate is registered anyway."""
        return self._different

    @property
    def save_button(self) -> QPushButton:
        return self._save

    @property
    def problems(self) -> dict[str, str]:
        """Every problem with the form as it is now (shown or not yet), field -> message."""
        return dict(self._problems)

    @property
    def ward_note(self) -> str:
        """What the postcode table says about the ward, as shown under it ('' when nothing)."""
        return self._ward_note.text() if self._ward_note.isVisibleTo(self) else ""

    @property
    def duplicates(self) -> list[Resident]:
        """The registered residents this one may be, from the last check."""
        return list(self._duplicates)

    @property
    def duplicate_warning(self) -> str:
        """The duplicate warning as shown ('' when hidden)."""
        if not self._duplicate_frame.isVisibleTo(self):
            return ""
        return f"{self._duplicate_title.text()}\n{self._duplicate_list.text()}"

    def problem_text(self, field_name: str) -> str:
        """The message shown under a field ('' when there is none)."""
        if field_name == "different_person":
            label = self._different_problem
        else:
            label = self._problem_labels.get(field_name, self._general_problem)
        return label.text().removeprefix("Problem: ")

    def draft(self) -> ResidentDraft:
        """What the form says now, as a draft for the resident service."""
        return ResidentDraft(
            name=self._name.text(),
            phone=self._phone.text(),
            email=self._email.text(),
            address=self._address.toPlainText(),
            postcode=self._postcode.text(),
            ward_code=self._ward.currentData() or None,
            age_band=chosen(self._age_band, AgeBand),
            language=self._language.text(),
            large_print=self._large_print.isChecked(),
            interpreter=self._interpreter.isChecked(),
            access_needs=self._access_needs.text(),
            referral_partner=self._partner.text(),
            referral_reason=chosen(self._reason, ReferralReason),
            consents=frozenset(purpose for purpose, box in self._consents.items() if box.isChecked()),
            disability=combo_choice(self._disability, Answer),
            ethnicity=self._ethnicity.text(),
            on_benefits=combo_choice(self._benefits, Answer),
            not_in_work_or_education=combo_choice(self._not_in_work, Answer),
            care_leaver=combo_choice(self._care_leaver, Answer),
        )

    def check_now(self) -> dict[str, str]:
        """Check the form (the domain's rules, and likely duplicates of a new resident) and show the
        problems under the fields staff have reached."""
        self._check_timer.stop()
        self._suggest_ward()
        draft = self.draft().cleaned()
        self._problems = draft.problems()
        self._show_problems()
        if self._resident is None:
            self._show_duplicates(self._services.residents.likely_duplicates(draft) if draft.name else [])
        self.checked.emit(dict(self._problems))
        return dict(self._problems)

    def save(self) -> None:
        """Save the resident; refused, with the reasons beside the fields, when the form is not right or
        the resident may already be registered and staff have not said otherwise."""
        self._show_all = True
        if self.check_now():
            self._focus_first_problem()
            return
        if self._duplicates and not self._different.isChecked():
            show_problem(
                self._different_problem,
                self._different,
                "Check the residents above. If this is someone new, tick 'This is a different person'; "
                "if not, cancel and use their existing record.",
            )
            self._different.setFocus()
            return
        try:
            if self._resident is None:
                self.saved = self._services.residents.add(
                    self.draft(), duplicate_checked=bool(self._duplicates) and self._different.isChecked()
                )
            else:
                self.saved = self._services.residents.update(self._resident.reference, self.draft())
        except PossibleDuplicate as error:  # registered at another desk since the last check
            self._show_duplicates(list(error.matches))
            self._different.setFocus()
            return
        except ValidationError as error:
            self._problems = dict(error.problems)
            self._show_problems()
            self._focus_first_problem()
            return
        except DomainError as error:
            show_problem(self._general_problem, None, str(error))
            return
        self.accept()

    # Helpers

    def _answer_combo(self, name: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        combo.addItem("Not asked", None)
        for answer in Answer:
            combo.addItem(answer.label, answer)
        return combo

    def _form_box(self, title: str, rows: list[tuple[str, str, QWidget]]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for caption, key, widget in rows:
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(widget)
            label = problem_label()
            self._problem_labels[key] = label
            cell.addWidget(label)
            buddy = QLabel(caption)
            buddy.setBuddy(widget)
            form.addRow(buddy, cell)
        return box

    def _add_problem_row(self, box: QGroupBox, key: str) -> None:
        form = box.layout()
        assert isinstance(form, QFormLayout)
        label = problem_label()
        self._problem_labels[key] = label
        form.addRow(label)

    def _fill(self, resident: Resident | None, name: str) -> None:
        draft = resident.as_draft() if resident else ResidentDraft(name=name)
        self._name.setText(draft.name)
        self._phone.setText(draft.phone)
        self._email.setText(draft.email)
        self._address.setPlainText(draft.address)
        self._postcode.setText(draft.postcode)
        self._ward.setCurrentIndex(max(0, self._ward.findData(draft.ward_code)) if draft.ward_code else 0)
        self._age_band.setCurrentIndex(self._age_band.findData(draft.age_band))
        self._language.setText(draft.language)
        self._large_print.setChecked(draft.large_print)
        self._interpreter.setChecked(draft.interpreter)
        self._access_needs.setText(draft.access_needs)
        self._partner.setText(draft.referral_partner)
        self._reason.setCurrentIndex(self._reason.findData(draft.referral_reason))
        for purpose, box in self._consents.items():
            box.setChecked(purpose in draft.consents)
        self._disability.setCurrentIndex(max(0, self._disability.findData(draft.disability)))
        self._ethnicity.setText(draft.ethnicity)
        self._benefits.setCurrentIndex(max(0, self._benefits.findData(draft.on_benefits)))
        self._not_in_work.setCurrentIndex(max(0, self._not_in_work.findData(draft.not_in_work_or_education)))
        self._care_leaver.setCurrentIndex(max(0, self._care_leaver.findData(draft.care_leaver)))
        if name and resident is None:
            self._touched.add("name")

    def _changed(self, key: str) -> None:
        self._touched.add(key)
        if key in CONTACT_FIELDS:
            self._touched.add("contact")
        self._check_timer.start()

    def _show_problems(self) -> None:
        shown = {
            key: message
            for key, message in self._problems.items()
            if self._show_all or key in self._touched or key == "consents"
        }
        unplaced = [message for key, message in shown.items() if key not in self._problem_labels]
        for key, label in self._problem_labels.items():
            show_problem(label, self._fields.get(key), shown.get(key, ""))
        show_problem(self._general_problem, None, " ".join(unplaced))
        self._describe_ward()
        self._fit_words()

    def _fit_words(self) -> None:
        """Grow the form to the height its wrapped messages need at its width: the minimum size the
        layout keeps counts each message as one line."""
        layout = self.layout()
        assert layout is not None, "the form's layout is made in __init__"
        layout.activate()
        if (
            layout.hasHeightForWidth()
            and (needed := layout.totalHeightForWidth(self.width())) > self.height()
        ):
            self.resize(self.width(), needed)

    def _suggest_ward(self) -> None:
        """Look the postcode up when it has changed: the table's ward fills an empty ward (or replaces
        its own earlier suggestion), and is only mentioned when staff chose another."""
        key = postcode_key(self._postcode.text())
        if key == self._looked_up:
            return
        self._looked_up = key
        # One primary-key read, like the duplicate check: quick enough for the GUI thread.
        self._table_ward = self._services.postcodes.ward_for(key) if key else None
        if self._ward_suggested or self._ward.currentData() is None:
            code = self._table_ward.code if self._table_ward else None
            self._suggesting = True
            self._ward.setCurrentIndex(max(0, self._ward.findData(code)) if code else 0)
            self._suggesting = False
            self._ward_suggested = code is not None
        self._show_ward_note()

    def _ward_changed(self) -> None:
        if not self._suggesting:
            self._ward_suggested = False  # staff chose: the table no longer changes the ward
            self._show_ward_note()

    def _show_ward_note(self) -> None:
        table = self._table_ward
        note = ""
        if table is not None and self._ward_suggested:
            note = WARD_SUGGESTED
        elif table is not None and self._ward.currentData() != table.code:
            note = f"The postcode table says {normalise_postcode(self._looked_up)} is in {table.name}."
        self._ward_note.setText(note)
        self._ward_note.setVisible(bool(note))
        self._describe_ward()

    def _describe_ward(self) -> None:
        """The ward's problem and the postcode table's note, for screen readers on the ward field."""
        problem = self._problem_labels["ward_code"].text().removeprefix(PROBLEM_PREFIX)
        self._ward.setAccessibleDescription(
            " ".join(part for part in (problem, self._ward_note.text()) if part)
        )

    def _show_duplicates(self, matches: list[Resident]) -> None:
        if [m.id for m in matches] != [m.id for m in self._duplicates]:
            self._different.setChecked(False)  # a new set of matches needs a new look
        self._duplicates = list(matches)
        self._duplicate_frame.setVisible(bool(matches))
        if not matches:
            show_problem(self._different_problem, self._different, "")
            return
        count = len(matches)
        self._duplicate_title.setText(
            "This may be someone already registered: "
            + ("a resident has" if count == 1 else f"{count} residents have")
            + " the same name and the same postcode or phone."
        )
        self._duplicate_list.setText("\n".join(match_words(match) for match in matches))
        self._different.setAccessibleDescription(self._duplicate_title.text())

    def _focus_first_problem(self) -> None:
        for key, widget in self._fields.items():
            if key in self._problems:
                widget.setFocus()
                return
        if "contact" in self._problems:
            self._phone.setFocus()
