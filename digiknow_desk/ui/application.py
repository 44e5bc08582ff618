"""Starts the desktop app: the Qt application, logging and error reporting, sign-in, then the main window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox, QWidget

from digiknow_desk import __version__
from digiknow_desk.app import DutiesDone, Services, computer_user, erase_again_after_restore, run_duties
from digiknow_desk.config import APP_AUTHOR, APP_NAME, Config, database_url, sqlite_file
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.paths import shipped_dir
from digiknow_desk.storage.checks import quick_check
from digiknow_desk.storage.encryption import PassphraseNeeded, WrongPassphrase
from digiknow_desk.ui.errors import ErrorReporter, setup_logging
from digiknow_desk.ui.main_window import MainWindow, ask_yes_no
from digiknow_desk.ui.sign_in_dialog import AskSignIn, ask_sign_in
from digiknow_desk.ui.tasks import Progress, TaskRunner, run_with_progress

DEMO_DB_FILE = "demo.db"
DUTIES_EVERY_MS = 60 * 60 * 1000  # the duties themselves decide whether a backup is due

AskPassphrase = Callable[[QWidget | None, str], "str | None"]


def ask_passphrase_dialog(parent: QWidget | None, why: str) -> str | None:
    """The passphrase of an encrypted database, typed hidden; None when staff cancel."""
    text, accepted = QInputDialog.getText(
        parent, "Passphrase", f"{why}\n\nPassphrase:", QLineEdit.EchoMode.Password
    )
    return text if accepted and text else None


class OpenServices(Protocol):
    def __call__(self, config: Config, *, create: bool) -> Services: ...


class DeskApplication:
    """Owns the open database and its main window; can swap to the demo database."""

    def __init__(
        self,
        config: Config,
        open_services: OpenServices,
        confirm: Callable[[QWidget | None, str, str], bool] = ask_yes_no,
        sign_in: AskSignIn = ask_sign_in,
        ask_passphrase: AskPassphrase = ask_passphrase_dialog,
    ) -> None:
        self._config = config
        self._open_services = open_services
        self._tasks = TaskRunner()
        self._log_path = setup_logging(config.log_dir)
        self._reporter = ErrorReporter(None, self._log_path)
        self._reporter.install()
        self._confirm = confirm
        self._sign_in = sign_in  # tests sign in without the modal dialog
        self._making_demo = False
        self._ask_passphrase = ask_passphrase
        self._config_open = config
        self._duties_timer = QTimer()
        self.sign_in_cancelled = False  # the last open stopped because staff chose not to sign in
        self.services: Services | None = None
        self.window: MainWindow | None = None

    def open(self, config: Config, *, is_demo: bool = False) -> bool:
        """Open `config`'s database, ask who signs in (on a database with no accounts, who becomes its
        first administrator), and show the main window for them; on failure or Cancel keep what was open.

        The default database is made on first start; one named with --db or DIGIKNOW_DB that does not
        exist is made only when staff confirm, so a mistyped path never silently yields an empty one.
        """
        self.sign_in_cancelled = False
        path = sqlite_file(config.db_url)
        create = is_demo or not config.db_named or path is None or path.exists()
        if not create:
            create = self._confirm(
                self.window,
                "No database there",
                f"There is no database at {path}.\n\nCreate a new, empty database there?",
            )
            if not create:
                return False
        services = self._services_for(config)
        if services is None:
            return False
        if self._sign_in(services, self.window, quitting=self.window is None) is None:
            services.database.dispose()
            self.sign_in_cancelled = True
            return False
        old_window, old_services = self.window, self.services
        self.services = services
        self.window = MainWindow(
            services,
            self._tasks,
            label_stock=self._config.default_label_stock,
            backup_folder=config.backup_dir,
            sign_in=self._sign_in,
        )
        self.window.demo_requested.connect(self.open_demo)
        self.window.database_restored.connect(lambda kept: self._reopen_after_restore(config, kept))
        self._reporter = ErrorReporter(self.window, self._log_path)
        self._reporter.install()
        self.window.show()
        if old_window is not None:
            old_window.close()
            old_window.deleteLater()
        if old_services is not None:
            old_services.database.dispose()
        self._config_open = config
        self._start_duties(services, config)
        return True

    def _services_for(self, config: Config) -> Services | None:
        """The services on `config`'s database, asking for the passphrase of an encrypted one; None (the
        reason shown) when it cannot be opened or staff cancel."""
        while True:
            try:
                return self._open_services(config, create=True)
            except (PassphraseNeeded, WrongPassphrase) as error:
                passphrase = self._ask_passphrase(self.window, str(error))
                if passphrase is None:
                    return None
                config = replace(config, passphrase=passphrase)
            except DomainError as error:
                QMessageBox.critical(self.window, "DigiKnow Desk cannot open the database", str(error))
                return None

    def _reopen_after_restore(self, config: Config, kept: Path) -> None:
        """After a restore the file under the open database was replaced: close it, open it afresh (an
        older backup is upgraded on the way), make again the erasures made since the backup, and ask who
        signs in."""
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None
        if self.services is not None:
            self.services.database.dispose()
            self.services = None
        if not self.open(config):
            QApplication.quit()
            return
        assert self.services is not None
        erasures = erase_again_after_restore(self.services.database, kept)
        if erasures.still_to_erase and self.window is not None:
            QMessageBox.warning(
                self.window,
                "Erasures to finish",
                "These residents were erased before the restore but could not be erased again yet (for "
                f"example, a device is on loan in the backup): {', '.join(erasures.still_to_erase)}. "
                "Erase them on the Data protection page once that is settled.",
            )

    def _start_duties(self, services: Services, config: Config) -> None:
        """The start-up check of the database, then the app's own duties (a daily backup, retention) in
        the background now and every hour; problems are shown, never silently dropped."""
        database = services.database

        def check(_progress: Progress) -> list[str]:
            return quick_check(database, config.backup_dir)

        def checked(problems: object) -> None:
            assert isinstance(problems, list)
            if problems and self.window is not None:
                QMessageBox.warning(self.window, "The database needs attention", "\n\n".join(problems))

        self._tasks.start(check, checked, self._report_duty_failure)
        self._run_duties(services, config)
        self._duties_timer.stop()
        self._duties_timer.timeout.connect(lambda: self._run_duties(services, config))
        self._duties_timer.start(DUTIES_EVERY_MS)

    def _run_duties(self, services: Services, config: Config) -> None:
        if services is not self.services:
            return  # another database is open now

        def duties(_progress: Progress) -> DutiesDone:
            return run_duties(services.database, config, services.clock)

        def done(result: object) -> None:
            assert isinstance(result, DutiesDone)
            if result.retention is not None and result.retention.anonymised and self.window is not None:
                self.window.statusBar().showMessage(
                    f"Retention: {len(result.retention.anonymised)} residents with no activity for "
                    f"{result.retention.months} months were anonymised.",
                    10_000,
                )

        self._tasks.start(duties, done, self._report_duty_failure)

    def _report_duty_failure(self, error: Exception) -> None:
        """A failed backup or check is shown: staff must know when there is no recent backup."""
        if self.window is not None:
            QMessageBox.warning(self.window, "DigiKnow Desk's own work did not finish", str(error))

    def open_demo(self) -> None:
        """Fill a separate demo database (in the background) and open it, leaving the real one untouched."""
        if self._making_demo:
            return
        demo_config = replace(
            self._config, db_url=database_url(str(self._config.data_dir / DEMO_DB_FILE)), db_named=False
        )
        try:
            demo_services = self._open_services(demo_config, create=True)
        except DomainError as error:
            self._reporter.report(error)
            return
        self._making_demo = True
        # Demo data makes its own accounts, one per role; until then whoever asked for it sets it up.
        current = self.services.desk.staff if self.services is not None else None
        setting_up = not demo_services.accounts.has_accounts()
        if setting_up:
            demo_services.desk.staff = setup_staff(current.display_name if current else computer_user())

        def fill(_progress: Progress) -> None:
            try:
                if setting_up and not demo_services.venues.venues():  # not one filled part-way before
                    demo_services.demo.fill()
            finally:
                demo_services.accounts.sign_out()
                demo_services.database.dispose()

        def done(_result: object) -> None:
            self._making_demo = False
            self.open(demo_config, is_demo=True)

        def failed(error: Exception) -> None:
            self._making_demo = False
            self._reporter.report(error)

        parent = self.window or QWidget()
        run_with_progress(
            self._tasks, parent, "Making the demo database…", fill, done, failed, cancellable=False
        )

    def close(self) -> None:
        self._duties_timer.stop()
        self._tasks.cancel_all()
        self._tasks.shutdown()
        if self.services is not None:
            self.services.database.dispose()


def run_gui(config: Config, argv: list[str], open_services: OpenServices) -> int:
    app = QApplication.instance() or QApplication(argv)
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_AUTHOR)
    app.setApplicationVersion(__version__)
    app.setStyleSheet((shipped_dir("resources") / "style.qss").read_text(encoding="utf-8"))
    desk = DeskApplication(config, open_services)
    try:
        if not desk.open(config):
            return 0 if desk.sign_in_cancelled else 1
        assert desk.window is not None
        if desk.window.is_database_empty():
            desk.window.show_welcome()
        return app.exec()
    finally:
        desk.close()
