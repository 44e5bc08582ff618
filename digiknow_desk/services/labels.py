"""Label printing: picks the devices (and fresh blank tags) and writes the label PDF for them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from digiknow_desk.domain.devices import Device, DeviceStatus
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.labels.stock import LabelStock, LabelStockError, list_stocks, load_stock
from digiknow_desk.services.context import ServiceContext
from digiknow_desk.services.inventory import InventoryService

if TYPE_CHECKING:
    from digiknow_desk.labels.sheet import Label

# labels.sheet (reportlab and qrcode) is imported where labels are drawn, not at start-up, where it
# would cost every start about 50 ms.


@dataclass(frozen=True)
class LabelRequest:
    """Which labels to print: the tags named, or the devices with a status, or every device not retired;
    plus `blank` labels with new, unassigned tags. Blank labels alone print no device labels."""

    stock_name: str
    tags: tuple[str, ...] = ()
    status: DeviceStatus | None = None
    blank: int = 0

    @property
    def wants_devices(self) -> bool:
        return bool(self.tags) or self.status is not None or self.blank == 0


def device_label(device: Device) -> Label:
    from digiknow_desk.labels.sheet import Label

    return Label(tag=device.tag, heading=device.device_type.label, detail=device.description)


def _write_atomically(out: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file beside `out`, so a failure or cancel never leaves half a PDF."""
    out = out.expanduser()
    if not out.parent.is_dir():
        raise DomainError(f"The folder {out.parent} does not exist; choose another place to save the PDF.")
    handle, temporary = tempfile.mkstemp(prefix=".labels-", suffix=".pdf", dir=out.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class LabelService:
    def __init__(self, context: ServiceContext, inventory: InventoryService) -> None:
        self._context = context
        self._inventory = inventory

    @staticmethod
    def stocks() -> list[LabelStock]:
        return list_stocks()

    @staticmethod
    def stock(name: str) -> LabelStock:
        try:
            return load_stock(name)
        except LabelStockError as error:
            raise DomainError(str(error)) from error

    def labels_for(self, request: LabelRequest) -> list[Label]:
        """The device labels the request asks for (blank tags are reserved only when printing)."""
        if not request.wants_devices:
            return []
        devices = self._inventory.for_labels(request.tags, request.status)
        return [device_label(device) for device in devices]

    def write_pdf(
        self,
        request: LabelRequest,
        out: Path,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> int:
        """Write the labels to `out` and return how many; DomainError when there is nothing to print."""
        from digiknow_desk.labels.sheet import LabelsCancelled, render_labels

        stock = self.stock(request.stock_name)
        labels = self.labels_for(request)
        if not labels and not request.blank:
            raise ValidationError({"labels": "No devices match, so there are no labels to print."})
        blank_tags = self._inventory.reserve_blank_tags(request.blank) if request.blank else []

        def write(path: Path) -> None:
            render_labels(
                labels, stock, path, blank_tags=blank_tags, on_progress=on_progress, is_cancelled=is_cancelled
            )

        try:
            _write_atomically(out, write)
        except LabelsCancelled as cancelled:
            raise DomainError(f"{cancelled} No PDF was saved.") from cancelled
        return len(labels) + len(blank_tags)

    def write_calibration_page(self, stock_name: str, out: Path) -> None:
        from digiknow_desk.labels.sheet import render_calibration_page

        stock = self.stock(stock_name)
        _write_atomically(out, lambda path: render_calibration_page(stock, path))
