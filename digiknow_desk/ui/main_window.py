"""The main window: navigation between the app's areas, the scan box, and which database is open."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceFilter, normalise_tag
from digiknow_desk.domain.residents import looks_like_reference
from digiknow_desk.ui.champions_page import ChampionsPage
from digiknow_desk.ui.dashboard_page import DashboardPage
from digiknow_desk.ui.desk_page import DeskPage
from digiknow_desk.ui.inventory_page import InventoryPage
from digiknow_desk.ui.loans_page import LoansPage
from digiknow_desk.ui.residents_page import ResidentsPage
from digiknow_desk.ui.sessions_page import SessionsPage
from digiknow_desk.ui.settings_page import SettingsPage
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.waitlist_page import WaitingListPage
from digiknow_desk.ui.welcome import WelcomeChoice, WelcomeDialog

SCAN_SHORTCUT = "F2"
# Each area's letter in the Go menu (Alt+G, then the letter), unique there: S is the scan box's.
GO_MENU_LETTERS = {
    "Desk": "d",
    "Inventory": "i",
    "Residents": "r",
    "Loans": "l",
    "Waiting list": "w",
    "Sessions": "e",
    "Champions": "c",
    "Dashboard": "h",
    "Settings": "t",
}


def ask_yes_no(parent: QWidget | None, title: str, question: str) -> bool:
    answer = QMessageBox.question(parent, title, question)
    return answer == QMessageBox.StandardButton.Yes


class MainWindow(QMainWindow):
    """Areas on the left, the current area on the right, the scan box always one keystroke away (F2)."""

    demo_requested = Signal()

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        *,
        is_demo: bool = False,
        label_stock: str | None = None,
        confirm: Callable[[QWidget | None, str, str], bool] = ask_yes_no,
    ) -> None:
        super().__init__()
        self._services = services
        self._tasks = tasks
        self._confirm = confirm  # tests replace the modal question
        self.setWindowTitle("DigiKnow Desk" + (" – demo database" if is_demo else ""))
        self.setObjectName("mainWindow")

        clock = services.clock
        self._desk = DeskPage(services, tasks, clock=clock)
        self._inventory = InventoryPage(services, tasks, label_stock=label_stock)
        self._residents = ResidentsPage(services, tasks, clock=clock)
        self._loans = LoansPage(services, tasks)
        self._waiting = WaitingListPage(services, tasks)
        self._sessions = SessionsPage(services, tasks)
        self._champions = ChampionsPage(services, tasks)
        self._dashboard = DashboardPage(services, tasks, clock=clock)
        self._settings = SettingsPage(services, tasks)
        self._areas: list[tuple[str, QWidget]] = [
            ("Desk", self._desk),
            ("Inventory", self._inventory),
            ("Residents", self._residents),
            ("Loans", self._loans),
            ("Waiting list", self._waiting),
            ("Sessions", self._sessions),
            ("Champions", self._champions),
            ("Dashboard", self._dashboard),
            ("Settings", self._settings),
        ]
        for page in (
            self._desk,
            self._inventory,
            self._residents,
            self._waiting,
            self._sessions,
            self._champions,
            self._dashboard,
        ):
            page.notice.connect(self._show_notice)
        # A change anywhere shows everywhere: each page reads again from the services.
        for page in (self._desk, self._residents, self._waiting, self._sessions, self._champions):
            page.changed.connect(self._refresh_pages)
        self._inventory.devices_changed.connect(self._refresh_pages)
        for page in (self._inventory, self._sessions, self._champions):
            self._settings.venues_changed.connect(page.refresh)
        # A new inclusion rule moves statuses, and the champions' periods move their warnings.
        self._settings.inclusion_rule_saved.connect(lambda _changed: self._refresh_pages())
        self._settings.champion_rules_saved.connect(self._champions.refresh)
        # New ward populations or excluded rate move the Dashboard's estimate.
        self._settings.wards_saved.connect(self._dashboard.refresh)
        # A background import may end after staff have left Settings: the status bar tells them.
        self._settings.postcode_import_finished.connect(self._show_notice)
        self._loans.loan_activated.connect(self._open_at_desk)

        # The areas as a column of buttons: each is a Tab stop with its own name for screen readers.
        self._navigation = QWidget()
        self._navigation.setObjectName("navigation")
        self._navigation.setAccessibleName("Areas")
        self._area_buttons = QButtonGroup(self)
        self._pages = QStackedWidget()
        column = QVBoxLayout(self._navigation)
        for row, (title, area) in enumerate(self._areas):
            button = QPushButton(title)
            button.setCheckable(True)
            button.setAccessibleName(title)
            button.setToolTip(f"{title} (Ctrl+{row + 1})")
            self._area_buttons.addButton(button, row)
            column.addWidget(button)
            self._pages.addWidget(area)
        column.addStretch()
        self._area_buttons.idClicked.connect(self.show_area)
        self.show_area(self._area_index("Desk"))
        splitter = QSplitter()
        splitter.addWidget(self._navigation)
        splitter.addWidget(self._pages)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

        self._scan_box = QLineEdit()
        self._scan_box.setObjectName("scanBox")
        self._scan_box.setAccessibleName("Scan box")
        self._scan_box.setAccessibleDescription("Scan a QR label, or type an asset tag and press Enter")
        self._scan_box.setPlaceholderText(f"Scan a label or type a tag, then Enter ({SCAN_SHORTCUT})")
        self._scan_box.setClearButtonEnabled(True)
        self._scan_box.returnPressed.connect(self._scanned)
        scan_label = QLabel("&Scan:")
        scan_label.setBuddy(self._scan_box)
        toolbar = QToolBar("Scan")
        toolbar.setObjectName("scanToolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(scan_label)
        toolbar.addWidget(self._scan_box)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

        self._database_label = QLabel(
            ("Demo database: " if is_demo else "Database: ") + services.database.display_name
        )
        self._database_label.setAccessibleName("Open database")
        self.statusBar().addPermanentWidget(self._database_label)
        self._build_menus()
        self.resize(1280, 800)

    # Menus and keyboard

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Import devices from CSV…", "", self._inventory.import_devices)
        self._action(file_menu, "&Print labels…", "Ctrl+P", self._inventory.print_labels)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        go_menu = self.menuBar().addMenu("&Go")
        self._action(go_menu, "&Scan box", SCAN_SHORTCUT, self.focus_scan_box)
        for number, (title, _page) in enumerate(self._areas, start=1):
            at = title.lower().index(GO_MENU_LETTERS[title])
            text = f"{title[:at]}&{title[at:]}"
            self._action(go_menu, text, f"Ctrl+{number}", partial(self.show_area, number - 1))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Welcome…", "", self.show_welcome)

    def _action(
        self, menu: QMenu, text: str, shortcut: str | QKeySequence.StandardKey, slot: Callable[[], object]
    ) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    # Areas

    @property
    def inventory_page(self) -> InventoryPage:
        return self._inventory

    @property
    def sessions_page(self) -> SessionsPage:
        return self._sessions

    @property
    def champions_page(self) -> ChampionsPage:
        return self._champions

    @property
    def dashboard_page(self) -> DashboardPage:
        return self._dashboard

    @property
    def settings_page(self) -> SettingsPage:
        return self._settings

    @property
    def scan_box(self) -> QLineEdit:
        return self._scan_box

    def current_area(self) -> str:
        return self._areas[self._pages.currentIndex()][0]

    def show_area(self, row: int) -> None:
        self._area_buttons.button(row).setChecked(True)
        self._pages.setCurrentIndex(row)

    def _area_index(self, title: str) -> int:
        return [name for name, _page in self._areas].index(title)

    def _show_notice(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)

    def _refresh_pages(self) -> None:
        for page in (
            self._inventory,
            self._residents,
            self._loans,
            self._waiting,
            self._sessions,
            self._champions,
            self._dashboard,
        ):
            page.refresh()

    def _open_at_desk(self, tag: str) -> None:
        self.show_area(self._area_index("Desk"))
        self._desk.scan(tag)

    @property
    def desk_page(self) -> DeskPage:
        return self._desk

    def focus_scan_box(self) -> None:
        self._scan_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._scan_box.selectAll()

    # Scanning

    def _scanned(self) -> None:
        text = self._scan_box.text().strip()
        tag = normalise_tag(text)
        self._scan_box.selectAll()  # the next scan replaces this one
        if not tag:
            return
        if self.current_area() == "Desk":
            self._desk.scan(text)
            return
        if looks_like_reference(text):
            self.show_area(self._area_index("Residents"))
            if self._residents.show_resident(text):
                return
        self.show_area(self._area_index("Inventory"))
        if self._inventory.show_device(tag):
            self.statusBar().showMessage(f"Opened {tag}.", 5000)
            return
        self.statusBar().showMessage(f"No device has the tag {tag}.", 10000)
        if self._confirm(
            self, "Unknown tag", f"No device has the tag {tag}.\n\nAdd a new device with this tag?"
        ):
            self._inventory.add_device(tag)

    # First start

    def is_database_empty(self) -> bool:
        return not self._services.venues.venues() and self._services.inventory.count(DeviceFilter()) == 0

    def show_welcome(self) -> None:
        choice = WelcomeDialog.ask(self._services.database.display_name, self)
        if choice is WelcomeChoice.SET_UP_VENUES:
            self.show_area(self._area_index("Settings"))
            self._settings.add_venue()
        elif choice is WelcomeChoice.IMPORT_STOCK:
            self.show_area(self._area_index("Inventory"))
            self._inventory.import_devices()
        elif choice is WelcomeChoice.EXPLORE_DEMO:
            self.demo_requested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._tasks.cancel_all()
        self._tasks.wait_for_all(seconds=10)
        super().closeEvent(event)
