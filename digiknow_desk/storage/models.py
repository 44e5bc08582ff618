"""The database tables as typed SQLAlchemy models; the schema itself comes only from migrations in db/."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from digiknow_desk.domain.devices import AcquisitionSource, Condition, DeviceStatus, DeviceType

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Timestamps must carry a time zone.")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(enum_class: type) -> Enum:
    """An enum stored as its string values (portable; no native PostgreSQL enum to migrate)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=24,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), uuid.UUID: Uuid()}


class WardRow(Base):
    __tablename__ = "wards"

    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    population: Mapped[int] = mapped_column(Integer)


class VenueRow(Base):
    __tablename__ = "venues"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    ward_code: Mapped[str] = mapped_column(ForeignKey("wards.code"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    ward: Mapped[WardRow] = relationship(lazy="joined")


class DeviceRow(Base):
    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tag: Mapped[str] = mapped_column(String(20), unique=True)
    device_type: Mapped[DeviceType] = mapped_column(_enum(DeviceType), index=True)
    make: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    # NULL when unknown, so the unique constraint only applies to real serials.
    serial: Mapped[str | None] = mapped_column(String(200), unique=True)
    os: Mapped[str] = mapped_column(String(200), default="")
    condition: Mapped[Condition] = mapped_column(_enum(Condition))
    status: Mapped[DeviceStatus] = mapped_column(_enum(DeviceStatus), index=True)
    home_venue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("venues.id"), index=True)
    current_venue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("venues.id"), index=True)
    source: Mapped[AcquisitionSource] = mapped_column(_enum(AcquisitionSource))
    acquired_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Lower-case tag, serial, make and model, for search as you type.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    kit_items: Mapped[list[DeviceKitItemRow]] = relationship(
        order_by="DeviceKitItemRow.position", cascade="all, delete-orphan"
    )


class DeviceKitItemRow(Base):
    __tablename__ = "device_kit_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))


class DeviceStatusEventRow(Base):
    __tablename__ = "device_status_events"
    __table_args__ = (Index("ix_device_status_events_device_id_at", "device_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    from_status: Mapped[DeviceStatus | None] = mapped_column(_enum(DeviceStatus))
    to_status: Mapped[DeviceStatus] = mapped_column(_enum(DeviceStatus))
    changed_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")


class TagCounterRow(Base):
    """The last number handed out for a tag prefix, so pre-printed blank labels never repeat."""

    __tablename__ = "tag_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)
