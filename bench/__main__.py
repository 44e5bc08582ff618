"""Borough-scale benchmark: builds a database with the CLI, then times the app's work beside plain baselines.

    python -m bench [--devices 5000] [--repeat 30] [--keep DIR]

Prints medians. Targets (issue 2): first window under 0.8 s and 120 MB; inventory search under 5 ms in
the service and under 50 ms from keystroke to repainted table; a 1,000-label PDF under 2 s.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QLineEdit, QTableView

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SEARCHES = ("tab", "TAB-00", "lenovo idea", "galaxy tab", "chromebook 314", "zzz-no-match")


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def row(what: str, ours: str, baseline: str = "", note: str = "") -> None:
    print(f"  {what:44} {ours:>14} {baseline:>14}  {note}")


def build_database(path: Path, devices: int) -> float:
    from digiknow_desk.app import main

    start = time.perf_counter()
    for args in (["init"], ["demo-data", "--devices", str(devices), "--residents", "0", "--seed", "7"]):
        if main(["digiknow-desk", "--db", str(path), *args]) != 0:
            raise SystemExit(f"building the database failed at {args}")
    return time.perf_counter() - start


def first_window(kind: str, argument: str, repeat: int) -> tuple[float, float, float]:
    """Median (seconds to first paint in the process, wall seconds including Python start, peak MB)."""
    inside, wall, memory = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        output = subprocess.run(
            [sys.executable, "-m", "bench.first_window", kind, argument],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout.split()
        wall.append(time.perf_counter() - start)
        inside.append(float(output[0]))
        memory.append(float(output[1]))
    return statistics.median(inside), statistics.median(wall), statistics.median(memory)


def search_timings(db_path: Path, repeat: int) -> None:
    from digiknow_desk.app import open_services
    from digiknow_desk.config import load_config
    from digiknow_desk.domain.devices import DeviceFilter
    from digiknow_desk.domain.staff import setup_staff
    from digiknow_desk.services.inventory import PAGE_SIZE

    services = open_services(load_config(str(db_path)), create=False)

    services.desk.staff = setup_staff("Benchmark")
    raw = sqlite3.connect(db_path)
    for text in SEARCHES:
        device_filter = DeviceFilter(text=text)
        ours = median_ms(lambda f=device_filter: services.inventory.search(f), repeat)
        count = median_ms(lambda f=device_filter: services.inventory.count(f), repeat)
        pattern = f"%{text.lower()}%"
        plain = median_ms(
            lambda p=pattern: raw.execute(
                "SELECT * FROM devices WHERE search_text LIKE ? ORDER BY tag LIMIT ?", (p, PAGE_SIZE)
            ).fetchall(),
            repeat,
        )
        row(
            f"search '{text}' ({PAGE_SIZE} rows + count)",
            f"{ours:.2f}+{count:.2f} ms",
            f"{plain:.2f} ms",
            "raw sqlite3",
        )
    raw.close()
    services.database.dispose()


def keystroke_timings(db_path: Path, repeat: int) -> None:
    from PySide6.QtWidgets import QApplication

    from digiknow_desk.app import open_services
    from digiknow_desk.config import load_config
    from digiknow_desk.domain.staff import setup_staff
    from digiknow_desk.ui.main_window import MainWindow
    from digiknow_desk.ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([sys.argv[0]])
    services = open_services(load_config(str(db_path)), create=False)
    services.desk.staff = setup_staff("Benchmark")
    window = MainWindow(services, TaskRunner())
    window.show()
    app.processEvents()
    page = window.inventory_page
    texts = ("t", "ta", "tab-0", "lenovo", "galaxy tab a8")
    time_keystrokes(app, page.search_box, page.apply_filter, page.table, texts, repeat)
    window.close()
    services.database.dispose()


def time_keystrokes(
    app: QApplication,
    box: QLineEdit,
    apply: Callable[[], None],
    table: QTableView,
    texts: Iterable[str],
    repeat: int,
) -> None:
    """Per text, the median time from its last key typed to the table repainted with the matches."""
    from PySide6.QtTest import QTest

    for text in texts:
        times = []
        for _ in range(repeat):
            box.setText(text[:-1])
            apply()
            app.processEvents()
            start = time.perf_counter()
            QTest.keyClick(box, text[-1])
            app.processEvents()  # the search runs on the next turn of the event loop
            table.viewport().repaint()
            times.append(time.perf_counter() - start)
        shown = f"{table.model().rowCount()} rows"
        row(f"keystroke to repainted table '{text}'", f"{statistics.median(times) * 1000:.2f} ms", "", shown)


def label_timings(db_path: Path) -> None:
    import qrcode
    import zxingcpp

    from digiknow_desk.app import open_services
    from digiknow_desk.config import load_config
    from digiknow_desk.domain.devices import DeviceFilter
    from digiknow_desk.domain.staff import setup_staff
    from digiknow_desk.labels.qr import qr_matrix
    from digiknow_desk.services.labels import LabelRequest

    services = open_services(load_config(str(db_path)), create=False)

    services.desk.staff = setup_staff("Benchmark")
    tags = tuple(device.tag for device in services.inventory.search(DeviceFilter(), limit=1000))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "labels.pdf"
        start = time.perf_counter()
        count = services.labels.write_pdf(LabelRequest(stock_name="L7160", tags=tags), out)
        seconds = time.perf_counter() - start
        row(f"{count} labels to a PDF (L7160)", f"{seconds:.2f} s", "", f"{out.stat().st_size // 1024} KiB")
    start = time.perf_counter()
    for tag in tags:
        qr_matrix(tag)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    for tag in tags:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_H)
        code.add_data(tag)
        code.make(fit=True)
    automatic = time.perf_counter() - start
    start = time.perf_counter()
    for tag in tags:
        zxingcpp.create_barcode(tag, zxingcpp.BarcodeFormat.QRCode, ec_level="H")
    native = time.perf_counter() - start
    row(
        f"encode {len(tags)} QR codes (version+mask fixed)",
        f"{ours:.2f} s",
        f"{automatic:.2f} s",
        "qrcode automatic search",
    )
    row("", "", f"{native:.2f} s", "zxing-cpp (C++) encoder")
    services.database.dispose()


def lending_timings(folder: Path, residents: int, devices: int, repeat: int) -> None:
    """Issue 3's figures on a borough-scale lending history built in bulk by demo-data."""
    from digiknow_desk.app import main as cli
    from digiknow_desk.app import open_services
    from digiknow_desk.config import load_config
    from digiknow_desk.domain.devices import DeviceFilter, DeviceStatus
    from digiknow_desk.domain.staff import setup_staff

    db_path = folder / "lending.db"
    if not db_path.exists():  # a kept folder's database is timed again as it is
        start = time.perf_counter()
        arguments = ["demo-data", "--devices", str(devices), "--residents", str(residents), "--months", "120"]
        for args in (["init"], arguments):
            if cli(["digiknow-desk", "--db", str(db_path), *args]) != 0:
                raise SystemExit(f"building the lending database failed at {args}")
        row(f"build {residents} residents with loans (CLI, bulk)", f"{time.perf_counter() - start:.1f} s")
    services = open_services(load_config(str(db_path)), create=False)
    services.desk.staff = setup_staff("Benchmark")
    raw = sqlite3.connect(db_path)
    loans = raw.execute("SELECT count(*) FROM loans").fetchone()[0]
    row("loans in the database", f"{loans}")
    for text in ("smith", "R-00420", "sk4 2", "0161 496 0931", "mar", "s"):
        ours = median_ms(lambda t=text: services.residents.search(t), repeat)
        count = median_ms(lambda t=text: services.residents.count(t), repeat)
        first = text.split()[0].lower()
        plain = median_ms(
            lambda w=first: raw.execute(
                "SELECT r.* FROM residents r JOIN (SELECT resident_id, name, reference FROM "
                "resident_search_terms WHERE term >= ? AND term < ? GROUP BY resident_id, name, reference "
                "ORDER BY name, reference LIMIT 50) p ON p.resident_id = r.id ORDER BY p.name, p.reference",
                (w, w[:-1] + chr(ord(w[-1]) + 1)),
            ).fetchall(),
            repeat,
        )
        row(
            f"resident search '{text}' (page + count)",
            f"{ours:.2f}+{count:.2f} ms",
            f"{plain:.2f} ms",
            f"raw sqlite3, first word; {services.residents.count(text)} match",
        )
    from PySide6.QtWidgets import QApplication

    from digiknow_desk.ui.residents_page import ResidentsPage
    from digiknow_desk.ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([sys.argv[0]])
    page = ResidentsPage(services, TaskRunner())
    page.show()
    app.processEvents()
    texts = ("s", "sm", "smi", "smith", "smith j", "r-0042")
    time_keystrokes(app, page.search_box, page.apply_search, page.table, texts, repeat)
    page.close()
    overdue = median_ms(services.lending.overdue, 5)
    plain = median_ms(
        lambda: raw.execute(
            "SELECT * FROM loans WHERE closed_at IS NULL AND due_on < date('now') ORDER BY due_on"
        ).fetchall(),
        5,
    )
    row(
        f"overdue list ({len(services.lending.overdue())} loans)",
        f"{overdue:.1f} ms",
        f"{plain:.1f} ms",
        "raw sqlite3",
    )
    available = services.inventory.search(DeviceFilter(status=DeviceStatus.AVAILABLE), limit=repeat)
    reference = services.residents.search("")[0].reference
    issue, back = [], []
    for device in available:
        begin = time.perf_counter()
        services.lending.issue(device.tag, reference)
        issue.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        services.lending.return_device(device.tag)
        back.append(time.perf_counter() - begin)
    row("issue (one transaction)", f"{statistics.median(issue) * 1000:.1f} ms", "", f"{len(issue)} devices")
    row("return (one transaction)", f"{statistics.median(back) * 1000:.1f} ms")
    raw.close()
    services.database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    parser.add_argument("--residents", type=int, default=0, help="also time the lending desk at this size")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="digiknow-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "bench.db"
    for leftover in folder.glob("bench.db*"):
        leftover.unlink()
    os.environ["DIGIKNOW_DATA_DIR"] = str(folder / "data")

    print(
        f"DigiKnow Desk benchmark: {args.devices} devices, medians of {args.repeat} runs, "
        f"{os.cpu_count()} cores"
    )
    row("what", "ours", "baseline", "")
    row("build the database with the CLI", f"{build_database(db_path, args.devices):.2f} s")
    app_first = first_window("app", str(db_path), 5)
    bare_first = first_window("bare", str(args.devices), 5)
    row(
        "first window painted (in process)",
        f"{app_first[0]:.2f} s",
        f"{bare_first[0]:.2f} s",
        "bare PySide6 window with a table",
    )
    row("first window painted (incl. Python start)", f"{app_first[1]:.2f} s", f"{bare_first[1]:.2f} s")
    row("first window peak memory", f"{app_first[2]:.0f} MB", f"{bare_first[2]:.0f} MB")
    search_timings(db_path, args.repeat)
    keystroke_timings(db_path, args.repeat)
    label_timings(db_path)
    if args.residents:
        lending_timings(folder, args.residents, max(args.devices, args.residents // 5), args.repeat)


if __name__ == "__main__":
    main()
