"""The main window: the areas the signed-in staff member's role may use, the scan box, who is signed in and
which database is open; locking the desk (by hand, or when it sits unused) and switching user; on a venue
copy, syncing with the server; on a server, showing other desks' changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
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
from digiknow_desk.domain.staff import NotSignedIn, Permission, StaffMember
from digiknow_desk.services.backups import RestoredBackup
from digiknow_desk.ui.audit_page import AuditPage
from digiknow_desk.ui.backups_page import BackupsPage
from digiknow_desk.ui.champions_page import ChampionsPage
from digiknow_desk.ui.conflicts_page import ConflictsPage
from digiknow_desk.ui.dashboard_page import DashboardPage
from digiknow_desk.ui.data_protection_page import DataProtectionPage
from digiknow_desk.ui.desk_page import DeskPage
from digiknow_desk.ui.idle_lock import IdleLock
from digiknow_desk.ui.inventory_page import InventoryPage
from digiknow_desk.ui.loans_page import LoansPage
from digiknow_desk.ui.residents_page import ResidentsPage
from digiknow_desk.ui.sessions_page import SessionsPage
from digiknow_desk.ui.settings_page import SettingsPage
from digiknow_desk.ui.sign_in_dialog import AskSignIn, ChangePasswordDialog, ask_sign_in, demo_banner
from digiknow_desk.ui.sync_control import ServerWatch, Tell, VenueSync, tell_staff
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.users_page import UsersPage
from digiknow_desk.ui.waitlist_page import WaitingListPage
from digiknow_desk.ui.welcome import WelcomeChoice, WelcomeDialog

SCAN_SHORTCUT = "F2"
LOCK_SHORTCUT = "Ctrl+L"
# How often a lock waits for a dialog it closed (or a progress dialog) to go before asking who signs in.
_UNLOCK_RETRY_MS = 100
# How often the window asks a server whether another desk changed something (one quick query), or re-reads
# where a venue copy stands.
WATCH_EVERY_MS = 5_000


@dataclass(frozen=True)
class Area:
    """One area of the app: its title, its letter in the Go menu (Alt+G, then the letter), the permission a
    role needs to see it, and whether it is only for a server database. The services check every call
    anyway; this decides what is shown."""

    title: str
    letter: str
    permission: Permission
    server_only: bool = False


# In the order of the buttons. Letters are unique in the Go menu, where S is the scan box's.
AREAS = (
    Area("Desk", "d", Permission.LEND),
    Area("Inventory", "i", Permission.SEE_DEVICES),
    Area("Residents", "r", Permission.SEE_SUPPORTED_RESIDENTS),
    Area("Loans", "l", Permission.LEND),
    Area("Waiting list", "w", Permission.LEND),
    Area("Sessions", "e", Permission.LOG_SUPPORT),
    Area("Champions", "c", Permission.LOG_SUPPORT),
    Area("Dashboard", "h", Permission.SEE_REPORTS),
    Area("Settings", "t", Permission.CHANGE_SETTINGS),
    Area("Audit", "a", Permission.SEE_AUDIT),
    Area("Conflicts", "o", Permission.CHANGE_SETTINGS, server_only=True),
    Area("Users", "u", Permission.MANAGE_ACCOUNTS),
    Area("Data protection", "p", Permission.PROTECT_DATA),
    Area("Backups", "b", Permission.BACKUP),
)
GO_MENU_LETTERS = {area.title: area.letter for area in AREAS}
# Ctrl+1 ... Ctrl+9, then Ctrl+0, reach the areas in button order; any beyond are in the Go menu.
_AREA_KEYS = [f"Ctrl+{number}" for number in (1, 2, 3, 4, 5, 6, 7, 8, 9, 0)]

# The pages whose lists another desk's changes (or a sync) can put out of date; each reads again with
# refresh(): the page on show at once, the others when next shown (these read again whenever shown anyway).
_LIST_PAGES = (
    InventoryPage,
    ResidentsPage,
    LoansPage,
    WaitingListPage,
    UsersPage,
    SessionsPage,
    ChampionsPage,
    DashboardPage,
    AuditPage,
    ConflictsPage,
)
_READ_WHEN_SHOWN = (SessionsPage, ChampionsPage, DashboardPage, AuditPage, ConflictsPage)

_PageT = TypeVar("_PageT", bound=QWidget)
ChangePassword = Callable[[Services, QWidget], bool]


def areas_for(staff: StaffMember, *, on_server: bool) -> list[Area]:
    """The areas `staff`'s role may use on this kind of database, in button order."""
    return [area for area in AREAS if staff.may(area.permission) and (on_server or not area.server_only)]


def ask_yes_no(parent: QWidget | None, title: str, question: str) -> bool:
    answer = QMessageBox.question(parent, title, question)
    return answer == QMessageBox.StandardButton.Yes


def staff_words(staff: StaffMember) -> str:
    return f"{staff.display_name} ({staff.role.label})"


class MainWindow(QMainWindow):
    """Areas on the left, the current area on the right, the scan box always one keystroke away (F2).

    What it shows follows who is signed in: locking (Ctrl+L, or no key press or click for the idle-lock
    time) signs them out and covers everything until someone signs in; someone else signing in gets the
    window built afresh for their role."""

    demo_requested = Signal()
    # The database file was replaced by a backup: the application opens it afresh. Carries the path where
    # the database as it was is kept.
    database_restored = Signal(object)
    locked = Signal()
    unlocked = Signal(object)  # the StaffMember now signed in

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        *,
        label_stock: str | None = None,
        backup_folder: Path | None = None,
        confirm: Callable[[QWidget | None, str, str], bool] = ask_yes_no,
        sign_in: AskSignIn = ask_sign_in,
        change_password: ChangePassword = ChangePasswordDialog.ask,
        tell: Tell = tell_staff,
    ) -> None:
        super().__init__()
        staff = services.accounts.signed_in()
        if staff is None:
            raise NotSignedIn()
        self._services = services
        self._tasks = tasks
        self._label_stock = label_stock
        self._backup_folder = backup_folder
        self._kept: Path | None = None  # where the last restore kept the database as it was
        self._confirm = confirm  # tests replace the modal question, the sign-in and the password dialogs
        self._ask_sign_in = sign_in
        self._change_password = change_password
        self._staff = staff
        self._is_demo = services.demo.is_demo()
        self._is_locked = False
        self._asking = False
        self._lock_note = ""
        self.setObjectName("mainWindow")

        # Everything below the menus: the DEMO bar (on every screen of a demo database), then either the
        # work (areas and pages) or the locked screen, which shows nothing of anyone's data.
        self._screens = QStackedWidget()
        self._locked_screen = self._build_locked_screen()
        self._screens.addWidget(self._locked_screen)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        if self._is_demo:
            column.addWidget(demo_banner())
        column.addWidget(self._screens, 1)
        self.setCentralWidget(central)

        self._scan_box = QLineEdit()
        self._scan_box.setObjectName("scanBox")
        self._scan_box.setAccessibleName("Scan box")
        self._scan_box.setAccessibleDescription("Scan a QR label, or type an asset tag and press Enter")
        self._scan_box.setPlaceholderText(f"Scan a label or type a tag, then Enter ({SCAN_SHORTCUT})")
        self._scan_box.setClearButtonEnabled(True)
        self._scan_box.returnPressed.connect(self._scanned)
        scan_label = QLabel("&Scan:")
        scan_label.setBuddy(self._scan_box)
        self._toolbar = QToolBar("Scan")
        self._toolbar.setObjectName("scanToolbar")
        self._toolbar.setMovable(False)
        self._toolbar.addWidget(scan_label)
        self._toolbar.addWidget(self._scan_box)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self._toolbar)

        self._who_label = QLabel()
        self._who_label.setAccessibleName("Signed in")
        self._database_label = QLabel(
            ("Demo database: " if self._is_demo else "Database: ") + services.database.display_name
        )
        self._database_label.setAccessibleName("Open database")
        # A venue copy says where it stands and syncs on request; a server is asked every few seconds whether
        # another desk changed something.
        venue_copy = services.sync.status().venue_copy
        self._venue_sync = VenueSync(services, tasks, self, tell=tell) if venue_copy else None
        self._server_watch = None if services.database.is_sqlite else ServerWatch(services, tasks, self)
        if self._venue_sync is not None:
            self._venue_sync.show_status()
            self._venue_sync.synced.connect(lambda _words: self._show_changes_from_elsewhere())
            self.statusBar().addPermanentWidget(self._venue_sync.status_label, 1)
            self.statusBar().addPermanentWidget(self._venue_sync.button)
        if self._server_watch is not None:
            self._server_watch.changed.connect(self._show_changes_from_elsewhere)
            self._server_watch.lost.connect(self.statusBar().showMessage)  # stays until the next notice
            self._server_watch.back.connect(
                lambda: self._show_notice("The server answers again: other desks' changes show here.")
            )
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(WATCH_EVERY_MS)
        self._watch_timer.timeout.connect(self.look_for_changes)
        self.statusBar().addPermanentWidget(self._who_label)
        self.statusBar().addPermanentWidget(self._database_label)

        self._idle_lock = IdleLock(services.accounts.idle_lock_minutes(), self)
        self._idle_lock.idle.connect(self._idle_timed_out)
        self._unlock_retry = QTimer(self)
        self._unlock_retry.setSingleShot(True)
        self._unlock_retry.timeout.connect(self.ask_to_unlock)

        self._pages: dict[str, QWidget] = {}
        self._stale: set[QWidget] = set()  # pages to read again when next shown
        self._work: QWidget | None = None
        self._menus: list[QMenu] = []
        self._work_actions: list[QAction] = []
        self._build_for(staff)
        self._idle_lock.arm()
        self._start_watching()
        self.resize(1280, 800)

    # Building what the role may use

    def _build_for(self, staff: StaffMember) -> None:
        """Build the pages, buttons and menus for `staff`'s role, replacing any built for someone else."""
        old = self._work
        self._staff = staff
        areas = areas_for(staff, on_server=not self._services.database.is_sqlite)
        self._pages = {area.title: self._make_page(area.title) for area in areas}
        self._stale = set()
        self._areas = [area for area in AREAS if area.title in self._pages]
        self._wire_pages()
        self._work = self._build_work()
        self._screens.insertWidget(0, self._work)
        self._screens.setCurrentWidget(self._work)
        if old is not None:
            self._screens.removeWidget(old)
            old.setParent(None)  # gone from the window at once (its pages' data with it)
            old.deleteLater()
        self._build_menus()
        first = "Desk" if "Desk" in self._pages else self._areas[0].title if self._areas else None
        if first is not None:
            self.go_to(first)
        self._toolbar.setVisible(self._can_scan())
        self._show_who()

    def _make_page(self, title: str) -> QWidget:
        services, tasks, clock = self._services, self._tasks, self._services.clock
        makers: dict[str, Callable[[], QWidget]] = {
            "Desk": lambda: DeskPage(services, tasks, clock=clock),
            "Inventory": lambda: InventoryPage(services, tasks, label_stock=self._label_stock),
            "Residents": lambda: ResidentsPage(services, tasks, clock=clock),
            "Loans": lambda: LoansPage(services, tasks),
            "Waiting list": lambda: WaitingListPage(services, tasks),
            "Sessions": lambda: SessionsPage(services, tasks),
            "Champions": lambda: ChampionsPage(services, tasks),
            "Dashboard": lambda: DashboardPage(services, tasks, clock=clock),
            "Settings": lambda: SettingsPage(services, tasks),
            "Audit": lambda: AuditPage(services, tasks),
            "Conflicts": lambda: ConflictsPage(services, tasks),
            "Users": lambda: UsersPage(services, tasks),
            "Data protection": lambda: DataProtectionPage(services, tasks),
            # After a restore the page reads nothing more; the window is rebuilt once its slot returns.
            "Backups": lambda: BackupsPage(
                services,
                tasks,
                self._backup_folder or Path.home(),
                on_restored=lambda: QTimer.singleShot(0, lambda: self.database_restored.emit(self._kept)),
            ),
        }
        return makers[title]()

    def _wire_pages(self) -> None:
        for page in self._pages.values():
            if isinstance(
                page,
                DeskPage
                | InventoryPage
                | ResidentsPage
                | WaitingListPage
                | SessionsPage
                | ChampionsPage
                | DashboardPage
                | AuditPage
                | ConflictsPage
                | UsersPage
                | DataProtectionPage
                | BackupsPage,
            ):
                page.notice.connect(self._show_notice)
            # A change anywhere shows everywhere: each page reads again from the services.
            if isinstance(page, DeskPage | ResidentsPage | WaitingListPage | SessionsPage | ChampionsPage):
                page.changed.connect(self._refresh_pages)
        if inventory := self._find(InventoryPage):
            inventory.devices_changed.connect(self._refresh_pages)
        if loans := self._find(LoansPage):
            loans.loan_activated.connect(self._open_at_desk)
        if users := self._find(UsersPage):
            users.idle_lock_changed.connect(self._idle_lock.set_minutes)
        if protection := self._find(DataProtectionPage):
            protection.changed.connect(self._refresh_pages)
        if conflicts := self._find(ConflictsPage):
            conflicts.changed.connect(self._refresh_pages)
        if backups := self._find(BackupsPage):
            backups.restored.connect(self._remember_restore)
        settings = self._find(SettingsPage)
        if settings is None:
            return
        for listing in (self._find(InventoryPage), self._find(SessionsPage), self._find(ChampionsPage)):
            if listing is not None:
                settings.venues_changed.connect(listing.refresh)
        # A new inclusion rule moves statuses, and the champions' periods move their warnings.
        settings.inclusion_rule_saved.connect(lambda _changed: self._refresh_pages())
        if champions := self._find(ChampionsPage):
            settings.champion_rules_saved.connect(champions.refresh)
        # New ward populations or excluded rate move the Dashboard's estimate.
        if dashboard := self._find(DashboardPage):
            settings.wards_saved.connect(dashboard.refresh)
        # A background import may end after staff have left Settings: the status bar tells them.
        settings.postcode_import_finished.connect(self._show_notice)

    def _build_work(self) -> QWidget:
        # The areas as a column of buttons: each is a Tab stop with its own name for screen readers.
        self._navigation = QWidget()
        self._navigation.setObjectName("navigation")
        self._navigation.setAccessibleName("Areas")
        self._area_buttons = QButtonGroup(self._navigation)
        self._stack = QStackedWidget()
        column = QVBoxLayout(self._navigation)
        for row, area in enumerate(self._areas):
            button = QPushButton(area.title)
            button.setCheckable(True)
            button.setAccessibleName(area.title)
            keys = _AREA_KEYS[row] if row < len(_AREA_KEYS) else f"Alt+G, {area.letter.upper()}"
            button.setToolTip(f"{area.title} ({keys})")
            self._area_buttons.addButton(button, row)
            column.addWidget(button)
            self._stack.addWidget(self._pages[area.title])
        column.addStretch()
        self._area_buttons.idClicked.connect(self.show_area)
        self._stack.currentChanged.connect(self._read_again_if_stale)
        splitter = QSplitter()
        splitter.addWidget(self._navigation)
        splitter.addWidget(self._stack)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        return splitter

    def _build_locked_screen(self) -> QWidget:
        screen = QWidget()
        screen.setObjectName("lockedScreen")
        heading = QLabel("<h1>DigiKnow Desk is locked</h1>")
        heading.setAccessibleName("DigiKnow Desk is locked")
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._locked_note = QLabel()
        self._locked_note.setAccessibleName("Why the desk is locked")
        self._locked_note.setWordWrap(True)
        self._locked_note.setTextFormat(Qt.TextFormat.PlainText)
        self._locked_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sign_in = QPushButton("&Sign in…")
        sign_in.setAccessibleName("Sign in")
        sign_in.clicked.connect(self.ask_to_unlock)
        quit_button = QPushButton("&Quit")
        quit_button.setAccessibleName("Quit DigiKnow Desk")
        quit_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(sign_in)
        buttons.addWidget(quit_button)
        buttons.addStretch()
        layout = QVBoxLayout(screen)
        layout.addStretch()
        layout.addWidget(heading)
        layout.addWidget(self._locked_note)
        layout.addLayout(buttons)
        layout.addStretch()
        self._sign_in_button = sign_in
        return screen

    # Menus and keyboard

    def _build_menus(self) -> None:
        for menu in self._menus:
            menu.setParent(None)  # its actions and their shortcuts go with it
            menu.deleteLater()
        self.menuBar().clear()
        self._menus, self._work_actions = [], []
        staff = self._staff
        file_menu = self._menu("&File")
        if self._venue_sync is not None:
            file_menu.addAction(self._venue_sync.action)  # the window's own: it outlives these menus
            self._work_actions.append(self._venue_sync.action)
            file_menu.addSeparator()
        inventory = self._find(InventoryPage)
        if inventory is not None and staff.may(Permission.MANAGE_DEVICES):
            self._action(file_menu, "&Import devices from CSV…", "", inventory.import_devices)
            self._action(file_menu, "&Print labels…", "Ctrl+P", inventory.print_labels)
            file_menu.addSeparator()
        self._lock_action = self._action(file_menu, "&Lock / switch user", LOCK_SHORTCUT, self.lock_now)
        self._action(file_menu, "Change my pass&word…", "", self.change_own_password)
        file_menu.addSeparator()
        quit_action = self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        self._work_actions.remove(quit_action)  # quitting works locked too: no one's data is shown
        go_menu = self._menu("&Go")
        if self._can_scan():
            self._action(go_menu, "&Scan box", SCAN_SHORTCUT, self.focus_scan_box)
        for row, area in enumerate(self._areas):
            at = area.title.lower().index(area.letter)
            text = f"{area.title[:at]}&{area.title[at:]}"
            keys = _AREA_KEYS[row] if row < len(_AREA_KEYS) else ""
            self._action(go_menu, text, keys, partial(self.show_area, row))
        help_menu = self._menu("&Help")
        self._action(help_menu, "&Welcome…", "", self.show_welcome)

    def _menu(self, title: str) -> QMenu:
        menu = QMenu(title, self.menuBar())
        self.menuBar().addMenu(menu)
        self._menus.append(menu)
        return menu

    def _action(
        self, menu: QMenu, text: str, shortcut: str | QKeySequence.StandardKey, slot: Callable[[], object]
    ) -> QAction:
        action = QAction(text, menu)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self._work_actions.append(action)
        return action

    # Who is signed in

    @property
    def staff(self) -> StaffMember:
        """Who the window is built for (the last to sign in, while locked)."""
        return self._staff

    @property
    def is_locked(self) -> bool:
        return self._is_locked

    @property
    def idle_lock(self) -> IdleLock:
        return self._idle_lock

    @property
    def locked_note(self) -> str:
        return self._locked_note.text()

    def _show_who(self) -> None:
        title = "DigiKnow Desk"
        if self._is_locked:
            self._who_label.setText("Locked: no one is signed in")
            title += " – locked"
        else:
            self._who_label.setText(f"Signed in: {staff_words(self._staff)}")
            title += f" – {staff_words(self._staff)}"
        self.setWindowTitle(title + (" – DEMO database" if self._is_demo else ""))

    def lock_now(self) -> None:
        """Lock / switch user: sign out at once, then ask who signs in (anyone may)."""
        if self._is_locked:
            self.ask_to_unlock()
            return
        self.lock(f"{self._staff.display_name} locked the desk. Anyone with an account may sign in.")

    def _idle_timed_out(self) -> None:
        minutes = round(self._idle_lock.timer.interval() / 60_000)
        self.lock(
            f"The desk locked itself after {minutes} minute{'s' if minutes != 1 else ''} without a key "
            "press or click. Sign in to carry on."
        )

    def lock(self, note: str) -> None:
        """Sign out, close any dialog (its unsaved typing is lost: it may show someone's details), cover the
        window, and ask who signs in next."""
        if self._is_locked:
            return
        self._is_locked = True
        self._lock_note = note
        self._idle_lock.disarm()
        self._stop_watching()
        self._services.accounts.sign_out()
        self._close_dialogs()
        self._locked_note.setText(note)
        self._screens.setCurrentWidget(self._locked_screen)
        self._toolbar.setVisible(False)
        for action in self._work_actions:
            action.setEnabled(action is self._lock_action)
        self.statusBar().clearMessage()  # the last notice may name a resident
        self._show_who()
        self.locked.emit()
        self._ask_to_unlock_after(0)  # from the event loop: this may run inside a dialog that is closing

    def _close_dialogs(self) -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and not isinstance(widget, QProgressDialog) and widget.isVisible():
                widget.reject()

    def ask_to_unlock(self) -> None:
        """Ask who signs in (once the dialogs closed by locking are gone); stays locked if they cancel."""
        if not self._is_locked or self._asking:
            return
        waiting = QApplication.activeModalWidget()
        if waiting is not None:
            # A dialog the lock closed is still unwinding, or background work shows its progress: ask
            # once it has gone, from the app's own event loop, so no page is rebuilt under an open dialog.
            if isinstance(waiting, QDialog) and not isinstance(waiting, QProgressDialog):
                waiting.reject()
            self._ask_to_unlock_after(_UNLOCK_RETRY_MS)
            return
        self._asking = True
        try:
            staff = self._ask_sign_in(self._services, self, note=self._lock_note)
        finally:
            self._asking = False
        if staff is not None:
            self._unlock(staff)
        else:
            self._sign_in_button.setFocus()

    def _ask_to_unlock_after(self, milliseconds: int) -> None:
        self._unlock_retry.setInterval(milliseconds)
        self._unlock_retry.start()

    def _unlock(self, staff: StaffMember) -> None:
        same = (staff.username, staff.role) == (self._staff.username, self._staff.role)
        self._is_locked = False
        self._idle_lock.set_minutes(self._services.accounts.idle_lock_minutes())
        if same:
            # The same person back: their screens as they left them.
            self._staff = staff
            assert self._work is not None
            self._screens.setCurrentWidget(self._work)
            self._toolbar.setVisible(self._can_scan())
            for action in self._work_actions:
                action.setEnabled(True)
            self._show_who()
        else:
            self._tasks.wait_for_all(seconds=10)  # the last person's background work ends under their pages
            self._build_for(staff)
        self._idle_lock.arm()
        self._start_watching()
        self.statusBar().showMessage(f"Signed in as {staff_words(staff)}.", 10_000)
        self.unlocked.emit(staff)

    def change_own_password(self) -> None:
        if self._change_password(self._services, self):
            self.statusBar().showMessage("Your password is changed: use the new one from now on.", 10_000)

    # Areas

    def _remember_restore(self, restored: RestoredBackup) -> None:
        self._kept = restored.previous_kept_at

    def _find(self, kind: type[_PageT]) -> _PageT | None:
        return next((page for page in self._pages.values() if isinstance(page, kind)), None)

    def _page(self, kind: type[_PageT]) -> _PageT:
        page = self._find(kind)
        if page is None:
            raise LookupError(f"{staff_words(self._staff)} has no {kind.__name__}")
        return page

    def area_titles(self) -> list[str]:
        """The areas shown, in button order."""
        return [area.title for area in self._areas]

    def area_page(self, title: str) -> QWidget:
        return self._pages[title]

    @property
    def desk_page(self) -> DeskPage:
        return self._page(DeskPage)

    @property
    def inventory_page(self) -> InventoryPage:
        return self._page(InventoryPage)

    @property
    def residents_page(self) -> ResidentsPage:
        return self._page(ResidentsPage)

    @property
    def sessions_page(self) -> SessionsPage:
        return self._page(SessionsPage)

    @property
    def champions_page(self) -> ChampionsPage:
        return self._page(ChampionsPage)

    @property
    def dashboard_page(self) -> DashboardPage:
        return self._page(DashboardPage)

    @property
    def settings_page(self) -> SettingsPage:
        return self._page(SettingsPage)

    @property
    def users_page(self) -> UsersPage:
        return self._page(UsersPage)

    @property
    def audit_page(self) -> AuditPage:
        return self._page(AuditPage)

    @property
    def scan_box(self) -> QLineEdit:
        return self._scan_box

    def current_area(self) -> str:
        return self._areas[self._stack.currentIndex()].title

    def show_area(self, row: int) -> None:
        if self._is_locked:
            return
        self._area_buttons.button(row).setChecked(True)
        self._stack.setCurrentIndex(row)

    def go_to(self, title: str) -> None:
        self.show_area(self.area_titles().index(title))

    def _show_notice(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)

    def _refresh_pages(self) -> None:
        if self._venue_sync is not None:
            self._venue_sync.show_status()  # one more change waits to be sent
        for page in self._pages.values():
            if isinstance(
                page,
                InventoryPage
                | ResidentsPage
                | LoansPage
                | WaitingListPage
                | SessionsPage
                | ChampionsPage
                | DashboardPage,
            ):
                page.refresh()

    # Other desks and the server

    @property
    def venue_sync(self) -> VenueSync | None:
        """The venue copy's Sync; None unless the database is a venue copy."""
        return self._venue_sync

    @property
    def server_watch(self) -> ServerWatch | None:
        """What asks the server about other desks' changes; None unless the database is a server."""
        return self._server_watch

    @property
    def watch_timer(self) -> QTimer:
        return self._watch_timer

    def _start_watching(self) -> None:
        if self._server_watch is not None:
            self._server_watch.resume()
        if self._venue_sync is not None or self._server_watch is not None:
            self._watch_timer.start()

    def _stop_watching(self) -> None:
        self._watch_timer.stop()
        if self._server_watch is not None:
            self._server_watch.pause()

    def look_for_changes(self) -> None:
        """What the watch timer does: on a server, ask whether another desk changed something; on a venue
        copy, read again how many changes wait to be sent."""
        if self._is_locked:
            return
        if self._venue_sync is not None:
            self._venue_sync.show_status()
        if self._server_watch is not None:
            self._server_watch.ask()

    def _show_changes_from_elsewhere(self) -> None:
        """Another desk changed something, or a sync brought changes: the page on show reads again now, the
        other lists when next shown."""
        current = self._stack.currentWidget()
        self._stale = {
            page
            for page in self._pages.values()
            if isinstance(page, _LIST_PAGES)
            and not isinstance(page, _READ_WHEN_SHOWN)
            and page is not current
        }
        if isinstance(current, _LIST_PAGES):
            current.refresh()

    def _read_again_if_stale(self, row: int) -> None:
        page = self._stack.widget(row)
        if page in self._stale and isinstance(page, _LIST_PAGES):
            self._stale.discard(page)
            page.refresh()

    def _open_at_desk(self, tag: str) -> None:
        self.go_to("Desk")
        self.desk_page.scan(tag)

    def _can_scan(self) -> bool:
        return any(title in self._pages for title in ("Desk", "Inventory", "Residents"))

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
            self.desk_page.scan(text)
            return
        residents = self._find(ResidentsPage)
        if residents is not None and looks_like_reference(text):
            self.go_to("Residents")
            if residents.show_resident(text):
                return
        inventory = self._find(InventoryPage)
        if inventory is None:
            self.statusBar().showMessage(f"No resident has the reference {text}.", 10000)
            return
        self.go_to("Inventory")
        if inventory.show_device(tag):
            self.statusBar().showMessage(f"Opened {tag}.", 5000)
            return
        self.statusBar().showMessage(f"No device has the tag {tag}.", 10000)
        if self._staff.may(Permission.MANAGE_DEVICES) and self._confirm(
            self, "Unknown tag", f"No device has the tag {tag}.\n\nAdd a new device with this tag?"
        ):
            inventory.add_device(tag)

    # First start

    def is_database_empty(self) -> bool:
        """No venues and no devices (asked only of roles who may see devices: others cannot set them up)."""
        if not self._staff.may(Permission.SEE_DEVICES):
            return False
        return not self._services.venues.venues() and self._services.inventory.count(DeviceFilter()) == 0

    def welcome_choices(self) -> list[WelcomeChoice]:
        """What the welcome offers this role: each choice opens an area the role may use."""
        choices = []
        if "Settings" in self._pages:
            choices.append(WelcomeChoice.SET_UP_VENUES)
        if "Inventory" in self._pages and self._staff.may(Permission.MANAGE_DEVICES):
            choices.append(WelcomeChoice.IMPORT_STOCK)
        choices.append(WelcomeChoice.EXPLORE_DEMO)
        return choices

    def show_welcome(self) -> None:
        choice = WelcomeDialog.ask(self._services.database.display_name, self, choices=self.welcome_choices())
        if choice is WelcomeChoice.SET_UP_VENUES:
            self.go_to("Settings")
            self.settings_page.add_venue()
        elif choice is WelcomeChoice.IMPORT_STOCK:
            self.go_to("Inventory")
            self.inventory_page.import_devices()
        elif choice is WelcomeChoice.EXPLORE_DEMO:
            self.demo_requested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stop_watching()
        self._idle_lock.stop_watching()
        self._unlock_retry.stop()
        self._tasks.cancel_all()
        self._tasks.wait_for_all(seconds=10)
        super().closeEvent(event)
