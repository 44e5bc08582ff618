"""Backups for administrators: make one now or when one is due, list them, check one, restore one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from digiknow_desk.domain.staff import Permission
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.storage.backup import (
    Backup,
    BackupFailed,
    CheckedBackup,
    RestoredBackup,
    backup_name,
    backup_to,
    before_restore_path,
    ensure_folder,
    list_backups,
    live_path,
    prune_backups,
    restore_from,
    validate_backup,
)

__all__ = ["Backup", "BackupService", "CheckedBackup", "RestoredBackup"]


class BackupService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.BACKUP)
    def backup_now(self, target: Path, progress: Callable[[int, int], None] | None = None) -> Backup:
        """Back up now. `target` is a folder (the backup is named by the time, then the folder is
        rotated: see storage.backup.backups_to_prune) or a new file's path, which must not exist yet.
        `progress(pages_done, pages_total)` is called as the copy goes."""
        live_path(self._context.db)  # a server database is refused before any folder is made
        target = target.expanduser()
        now = self._context.now()
        if target.is_dir() or not target.suffix:
            ensure_folder(target)
            path = backup_to(self._context.db, target / backup_name(now), progress)
            prune_backups(target)
            return Backup(
                path, now.astimezone().replace(microsecond=0), path.stat().st_size, before_upgrade=False
            )
        if target.exists():
            raise BackupFailed(f"{target} already exists: choose a new file name, or a folder.")
        path = backup_to(self._context.db, target, progress)
        return Backup(
            path, now.astimezone().replace(microsecond=0), path.stat().st_size, before_upgrade=False
        )

    @requires(Permission.SIGNED_IN)
    def last_backup(self, folder: Path) -> Backup | None:
        """The newest backup in the folder, by the time in its name, ignoring any named in the future
        (made while the computer's clock was wrong)."""
        now = self._context.now()
        return next((backup for backup in list_backups(folder) if backup.made_at <= now), None)

    @requires(Permission.SIGNED_IN)
    def backup_if_due(self, folder: Path, every: timedelta) -> Backup | None:
        """Back up into `folder` if its newest backup is `every` old or older (or there is none); the
        schedule, called at start-up and from a timer whoever is signed in, as it is the app's duty and not
        a choice. None when no backup was due."""
        last = self.last_backup(folder.expanduser())
        if last is not None and self._context.now() - last.made_at < every:
            return None
        return self.backup_now(folder)

    @requires(Permission.BACKUP)
    def list_backups(self, folder: Path) -> list[Backup]:
        """The backups in `folder`, newest first."""
        return list_backups(folder.expanduser())

    @requires(Permission.BACKUP)
    def check(self, path: Path) -> CheckedBackup:
        """Check a backup without restoring it; raises BackupRefused saying what is wrong with it."""
        live_path(self._context.db)  # a server database is restored with the server's tools, not a file
        return validate_backup(self._context.db, path.expanduser())

    @requires(Permission.BACKUP)
    def restore(self, path: Path) -> RestoredBackup:
        """Replace the database's contents with the backup at `path`, once it passes every check; the
        database as it was is kept beside it as `<name>.before-restore-<time>.db`.

        Afterwards the caller must dispose of the Database and open it again through app.open_database
        (see storage.backup.restore_from)."""
        keep_old_as = before_restore_path(live_path(self._context.db), self._context.now())
        return restore_from(self._context.db, path.expanduser(), keep_old_as)
