"""Label printing: picks the devices (and fresh blank tags) and writes the label PDF for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from digiknow_desk.domain.devices import Device, DeviceStatus
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.staff import Permission
from digiknow_desk.labels.stock import LabelStock, LabelStockError, list_stocks, load_stock
from digiknow_desk.paths import shipped_dir
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.files import write_atomically
from digiknow_desk.services.inventory import InventoryService
from digiknow_desk.services.settings import is_demo_database

if TYPE_CHECKING:
    from digiknow_desk.labels.sheet import Label


def label_stock_folder() -> Path:
    """The label stocks that ship with the app, one TOML file each."""
    return shipped_dir("reports") / "label_stocks"


# labels.sheet (reportlab and qrcode) is imported where labels are drawn, not at start-up, where it
# would cost every start about 50 ms.


@dataclass(frozen=True)
class LabelRequest:
    """Which labels to print: the devices named by `tags`, or those with `status`, or (`every_device`)
    every device that is not retired; then `blank` labels with new, unassigned tags."""

    stock_name: str
    tags: tuple[str, ...] = ()
    status: DeviceStatus | None = None
    every_device: bool = False
    blank: int = 0

    @property
    def wants_devices(self) -> bool:
        return bool(self.tags) or self.status is not None or self.every_device


def device_label(device: Device) -> Label:
    from digiknow_desk.labels.sheet import Label

    return Label(tag=device.tag, heading=device.device_type.label, detail=device.description)


class LabelService:
    def __init__(self, context: ServiceContext, inventory: InventoryService) -> None:
        self._context = context
        self._inventory = inventory

    @requires(Permission.SIGNED_IN)
    def stocks(self) -> list[LabelStock]:
        return list_stocks(label_stock_folder())

    @requires(Permission.SIGNED_IN)
    def stock(self, name: str) -> LabelStock:
        try:
            return load_stock(name, label_stock_folder())
        except LabelStockError as error:
            raise DomainError(str(error)) from error

    @requires(Permission.MANAGE_DEVICES)
    def labels_for(self, request: LabelRequest) -> list[Label]:
        """The device labels the request asks for (blank tags are reserved only when printing)."""
        if not request.wants_devices:
            return []
        devices = self._inventory.for_labels(request.tags, request.status)
        return [device_label(device) for device in devices]

    @requires(Permission.MANAGE_DEVICES)
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
        demo = self._demo()

        def write(stream: BinaryIO) -> None:
            render_labels(
                labels,
                stock,
                stream,
                blank_tags=blank_tags,
                on_progress=on_progress,
                is_cancelled=is_cancelled,
                demo=demo,
            )

        try:
            write_atomically(out, write)
        except LabelsCancelled as cancelled:
            raise DomainError(f"{cancelled} No PDF was saved.") from cancelled
        return len(labels) + len(blank_tags)

    @requires(Permission.MANAGE_DEVICES)
    def write_calibration_page(self, stock_name: str, out: Path) -> None:
        from digiknow_desk.labels.sheet import render_calibration_page

        stock = self.stock(stock_name)
        demo = self._demo()
        write_atomically(out, lambda stream: render_calibration_page(stock, stream, demo=demo))

    def _demo(self) -> bool:
        with self._context.db.read() as session:
            return is_demo_database(session)
