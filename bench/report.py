"""Issue 5's figures: the monthly report on the 10-year borough database.

    python -m bench.report [--sessions 1000000] [--residents 50000] [--repeat 10] [--keep DIR]

Uses (or builds, exactly as `python -m bench.support` does) a database of 50,000 residents, about
450,000 loans and 1,000,000 sessions over 120 months, then prints medians for last month's report:
the figures (every aggregate query), the PDF, the CSV and JSON, and the whole of `report monthly`
from the command line. Targets (issue 5): the monthly report PDF under 1 s end to end; the Dashboard's
refresh under 200 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.__main__ import median_ms, row
from bench.support import build

if TYPE_CHECKING:
    from digiknow_desk.app import Services


def report_timings(folder: Path, sessions: int, residents: int, repeat: int) -> None:
    from digiknow_desk.app import main, open_services
    from digiknow_desk.config import load_config
    from digiknow_desk.domain.staff import setup_staff
    from digiknow_desk.reporting.monthly_report import (
        monthly_report_csv,
        monthly_report_json,
        monthly_report_pdf,
    )
    from digiknow_desk.services.reports import monthly_template

    template = monthly_template()
    db_path = folder / "support.db"
    if not db_path.exists():
        build(db_path, residents, max(1000, residents // 5), sessions)
    start = time.perf_counter()
    services = open_services(load_config(str(db_path)), create=False)
    services.desk.staff = setup_staff("Benchmark")
    row("open (and upgrade, the first time)", f"{time.perf_counter() - start:.1f} s")
    month = date.today().replace(day=1) - timedelta(days=1)
    report = services.reports.monthly(month)
    row(
        f"the report's month: {month:%B %Y}",
        f"{report.support.sessions:,}",
        "",
        f"sessions; {report.lending.issued:,} loans issued, {report.headline.included:,} residents included",
    )
    row(
        "figures (every aggregate query)",
        f"{median_ms(lambda: services.reports.monthly(month), repeat):.0f} ms",
    )
    pdf = monthly_report_pdf(report, template)
    row(
        "PDF from the figures",
        f"{median_ms(lambda: monthly_report_pdf(report, template), repeat):.0f} ms",
        "",
        f"{len(pdf):,} bytes",
    )
    exports = median_ms(lambda: (monthly_report_csv(report, template), monthly_report_json(report)), repeat)
    row("CSV and JSON from the figures", f"{exports:.1f} ms")
    row(
        "Dashboard figures (the service)",
        f"{median_ms(lambda: services.reports.dashboard(month), repeat):.0f} ms",
    )
    row("Dashboard refresh (figures read, page filled)", f"{dashboard_refresh_ms(services, repeat):.0f} ms")
    out = folder / "report.pdf"
    argv = [
        "digiknow-desk",
        "--db",
        str(db_path),
        "report",
        "monthly",
        "--month",
        f"{month:%Y-%m}",
        "--out",
        str(out),
    ]
    row(
        "report monthly --out FILE.pdf (CLI, in process)",
        f"{median_ms(lambda: quietly(main, argv), repeat):.0f} ms",
        "",
        "opening the database, figures, PDF, writing the file",
    )
    services.database.dispose()


def quietly(work: Callable[[list[str]], int], argv: list[str]) -> None:
    """Run the command line without its summary lines in the benchmark's output."""
    with contextlib.redirect_stdout(io.StringIO()):
        if work(argv) != 0:
            raise SystemExit(f"{' '.join(argv)} failed")


def dashboard_refresh_ms(services: Services, repeat: int) -> float:
    """From asking the Dashboard (offscreen) to refresh to its figures, chart and table being shown."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from digiknow_desk.ui.dashboard_page import DashboardPage
    from digiknow_desk.ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    page = DashboardPage(services, TaskRunner())
    page.resize(1280, 900)
    loop = QEventLoop()
    page.loaded.connect(loop.quit)

    def refresh() -> None:
        page.refresh()
        loop.exec()
        app.processEvents()  # and painted

    page.show()
    loop.exec()
    timing = median_ms(refresh, repeat)
    page.close()
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="digiknow-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["DIGIKNOW_DATA_DIR"] = str(folder / "data")
    print(
        f"DigiKnow Desk report benchmark: {args.sessions:,} sessions, {args.residents:,} residents, "
        f"medians of {args.repeat} runs, {os.cpu_count()} cores"
    )
    row("what", "ours")
    report_timings(folder, args.sessions, args.residents, args.repeat)


if __name__ == "__main__":
    main()
