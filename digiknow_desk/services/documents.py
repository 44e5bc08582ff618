"""Desk documents: finds the loan, wipe or resident and saves its agreement, certificate or card as a PDF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from digiknow_desk.domain.devices import normalise_tag
from digiknow_desk.domain.errors import DomainError, NotFound
from digiknow_desk.domain.loans import Loan, Wipe
from digiknow_desk.domain.staff import Permission
from digiknow_desk.paths import shipped_dir
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.files import write_atomically
from digiknow_desk.services.lending import LendingService
from digiknow_desk.services.residents import ResidentService
from digiknow_desk.services.settings import is_demo_database

if TYPE_CHECKING:
    from digiknow_desk.reporting.desk_documents import DeskWording, DocumentFonts

# reporting.desk_documents (reportlab) is imported where a document is made, not at start-up, where
# it would cost every start about 50 ms.


def desk_wording_folder() -> Path:
    """The wording of the desk's documents as shipped with the app: one TOML file per document."""
    return shipped_dir("reports") / "desk"


class DocumentService:
    """The loan agreement with its due-date slip, the wipe certificate and the resident card.

    The wording is read afresh for each document, so a coordinator's change to reports/desk shows on
    the next one printed. `font_files` (regular, bold TrueType) replaces Helvetica, which prints only
    Western European letters.
    """

    def __init__(
        self,
        context: ServiceContext,
        residents: ResidentService,
        lending: LendingService,
        *,
        wording_folder: Path | None = None,
        font_files: tuple[Path, Path] | None = None,
    ) -> None:
        self._context = context
        self._residents = residents
        self._lending = lending
        self._wording_folder = wording_folder
        self._font_files = font_files

    @requires(Permission.LEND)
    def loan_agreement(self, tag: str, out: Path) -> None:
        """Save the agreement and due-date slip of the device's open loan."""
        loan = self._lending.open_loan(tag)
        if loan is None:
            raise NotFound(
                f"{normalise_tag(tag)} is not on loan, so it has no agreement to print. "
                "To reprint an old agreement, open it from the resident's loans."
            )
        self.loan_agreement_for(loan, out)

    @requires(Permission.LEND)
    def loan_agreement_for(self, loan: Loan, out: Path) -> None:
        """Save the agreement and due-date slip of `loan`, open or not (a reprint from the history)."""
        from digiknow_desk.reporting.desk_documents import render_loan_agreement

        resident = self._residents.get(loan.resident_reference)
        plan = self._lending.data_plan(loan.device_tag)
        wording, fonts, demo = self._wording(), self._fonts(), self._demo()
        today = self._context.today()
        self._save(
            out,
            lambda stream: render_loan_agreement(
                loan, resident, wording, stream, printed_on=today, data_plan=plan, fonts=fonts, demo=demo
            ),
        )

    @requires(Permission.LEND)
    def wipe_certificate(self, tag: str, out: Path) -> None:
        """Save the certificate of the device's latest wipe."""
        self.wipe_certificate_for(self._lending.last_wipe(tag), out)

    @requires(Permission.LEND)
    def wipe_certificate_for(self, wipe: Wipe, out: Path) -> None:
        """Save the certificate of `wipe` (as returned when the wipe is recorded)."""
        from digiknow_desk.reporting.desk_documents import render_wipe_certificate

        wording, fonts, demo = self._wording(), self._fonts(), self._demo()
        today = self._context.today()
        self._save(
            out,
            lambda stream: render_wipe_certificate(
                wipe, wording, stream, printed_on=today, fonts=fonts, demo=demo
            ),
        )

    @requires(Permission.LEND)
    def resident_card(self, reference: str, out: Path) -> None:
        """Save the resident's card: credit-card size, with the QR code of their reference."""
        from digiknow_desk.reporting.desk_documents import render_resident_card

        resident = self._residents.get(reference)
        wording, fonts, demo = self._wording(), self._fonts(), self._demo()
        self._save(
            out, lambda stream: render_resident_card(resident, wording, stream, fonts=fonts, demo=demo)
        )

    def _demo(self) -> bool:
        with self._context.db.read() as session:
            return is_demo_database(session)

    def _wording(self) -> DeskWording:
        from digiknow_desk.reporting.desk_documents import DocumentError, load_wording

        try:
            return load_wording(self._wording_folder or desk_wording_folder())
        except DocumentError as error:
            raise DomainError(str(error)) from error

    def _fonts(self) -> DocumentFonts | None:
        from digiknow_desk.reporting.desk_documents import DocumentError, DocumentFonts

        if self._font_files is None:
            return None
        try:
            return DocumentFonts.from_files(*self._font_files)
        except DocumentError as error:
            raise DomainError(str(error)) from error

    @staticmethod
    def _save(out: Path, write: Callable[[BinaryIO], None]) -> None:
        from digiknow_desk.reporting.desk_documents import DocumentError

        try:
            write_atomically(out, write)
        except DocumentError as error:
            raise DomainError(f"{error} Nothing was saved.") from error
