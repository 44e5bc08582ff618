"""The database tables as typed SQLAlchemy models; the schema itself comes only from migrations in db/."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from digiknow_desk.domain.devices import AcquisitionSource, Condition, DeviceStatus, DeviceType
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.loans import LoanOutcome, ReasonMet, WaitStatus, WipeMethod
from digiknow_desk.domain.residents import AgeBand, Answer, ConsentPurpose, ReferralReason
from digiknow_desk.domain.sessions import HoursKind, SessionKind
from digiknow_desk.domain.skills import SkillArea, SkillLevel
from digiknow_desk.domain.staff import Role

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
    # One line per place: a line added at two venues while both were offline is a conflict, not two lines.
    __table_args__ = (Index("uq_device_kit_items_device_id_position", "device_id", "position", unique=True),)

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


class SettingRow(Base):
    """One coordinator setting, stored as JSON text under its key."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ResidentRow(Base):
    __tablename__ = "residents"
    # The residents list and search read in name order; with the id, a common word's search reads no rows.
    __table_args__ = (
        Index("ix_residents_name_reference", "name", "reference", "id"),
        # The report's counts by ward and status, and of residents registered in a month.
        Index("ix_residents_ward_code_status", "ward_code", "inclusion_status"),
        Index("ix_residents_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    postcode: Mapped[str] = mapped_column(String(10), default="", index=True)
    ward_code: Mapped[str | None] = mapped_column(ForeignKey("wards.code"))
    age_band: Mapped[AgeBand] = mapped_column(_enum(AgeBand))
    language: Mapped[str] = mapped_column(String(60), default="English")
    large_print: Mapped[bool] = mapped_column(default=False)
    interpreter: Mapped[bool] = mapped_column(default=False)
    access_needs: Mapped[str] = mapped_column(Text, default="")
    referral_partner: Mapped[str] = mapped_column(String(120), default="")
    referral_reason: Mapped[ReferralReason] = mapped_column(_enum(ReferralReason))
    # Optional and sensitive: NULL means not asked.
    disability: Mapped[Answer | None] = mapped_column(_enum(Answer))
    ethnicity: Mapped[str] = mapped_column(String(80), default="")
    on_benefits: Mapped[Answer | None] = mapped_column(_enum(Answer))
    not_in_work_or_education: Mapped[Answer | None] = mapped_column(_enum(Answer))  # asked of under 25s
    care_leaver: Mapped[Answer | None] = mapped_column(_enum(Answer))
    # Derived from sessions, skills checks and loans by the inclusion rule; never typed in.
    inclusion_status: Mapped[InclusionStatus] = mapped_column(
        _enum(InclusionStatus), server_default=InclusionStatus.NOT_YET_SUPPORTED.value, index=True
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Set when retention or an erasure request removed the personal data; the row stays for the counts.
    anonymised_at: Mapped[datetime | None]


# Compared byte by byte on every database, so a search word's range of terms is the same everywhere.
_TERM = String(60).with_variant(String(60, collation="C"), "postgresql")


class ResidentSearchTermRow(Base):
    """One word a resident can be found by (name part, reference, phone digits, postcode part, email),
    with the resident's name and reference copied in: a search reads a word's matches in name order from
    one index, without visiting the residents table."""

    __tablename__ = "resident_search_terms"
    __table_args__ = (
        Index("ix_resident_search_terms_term_name", "term", "name", "reference", "resident_id"),
    )

    resident_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(_TERM, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    reference: Mapped[str] = mapped_column(String(12))


class PostcodeWardRow(Base):
    """A postcode's ward, from a postcode-to-ward table a coordinator imported; suggests a ward."""

    __tablename__ = "postcode_wards"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)  # upper case, no space
    ward_code: Mapped[str] = mapped_column(ForeignKey("wards.code"))


class ResidentConsentRow(Base):
    __tablename__ = "resident_consents"
    __table_args__ = (UniqueConstraint("resident_id", "purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[ConsentPurpose] = mapped_column(_enum(ConsentPurpose))
    given_on: Mapped[date] = mapped_column(Date)


class LoanRow(Base):
    __tablename__ = "loans"
    __table_args__ = (
        # One device, one open loan: enforced by the database, so two desks racing cannot both win.
        Index(
            "uq_loans_open_device",
            "device_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index(
            "ix_loans_open_due_on",
            "due_on",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_loans_issued_at", "issued_at"),
        Index("ix_loans_closed_at", "closed_at"),
        # A device's loans in order: how long it sat idle between them.
        Index("ix_loans_device_id_issued_at", "device_id", "issued_at", "closed_at"),
        # Covers what working out a status reads of a resident's loans: no look-up in the table.
        Index(
            "ix_loans_resident_id_closed_at",
            "resident_id",
            "closed_at",
            "own_device_after",
            "own_connection_after",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"))
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    issued_at: Mapped[datetime]
    due_on: Mapped[date] = mapped_column(Date)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None]
    outcome: Mapped[LoanOutcome | None] = mapped_column(_enum(LoanOutcome))
    issued_by: Mapped[str] = mapped_column(String(120))
    closed_by: Mapped[str] = mapped_column(String(120), default="")
    accepted: Mapped[bool] = mapped_column(default=False)
    late_reason: Mapped[str] = mapped_column(Text, default="")
    condition_back: Mapped[str] = mapped_column(String(24), default="")
    fault: Mapped[str] = mapped_column(Text, default="")
    # Asked when the loan closes: what it achieved, and the resident's own access from then on.
    reason_met: Mapped[ReasonMet | None] = mapped_column(_enum(ReasonMet))
    own_device_after: Mapped[bool | None]
    own_connection_after: Mapped[bool | None]


class LoanKitRow(Base):
    __tablename__ = "loan_kit"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))
    went_out: Mapped[bool] = mapped_column(default=True)
    came_back: Mapped[bool | None]


class LoanRenewalRow(Base):
    """A loan was renewed: when, by whom, and the due date it moved from and to."""

    __tablename__ = "loan_renewals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"), index=True)
    renewed_at: Mapped[datetime] = mapped_column(index=True)
    due_before: Mapped[date] = mapped_column(Date)
    due_after: Mapped[date] = mapped_column(Date)
    renewed_by: Mapped[str] = mapped_column(String(120))


class WipeRow(Base):
    __tablename__ = "wipes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"), index=True)
    wiped_at: Mapped[datetime]
    wiped_by: Mapped[str] = mapped_column(String(120))
    method: Mapped[WipeMethod] = mapped_column(_enum(WipeMethod))
    accounts_signed_out: Mapped[bool]
    reset_done: Mapped[bool]
    apps_restored: Mapped[bool]
    charger_present: Mapped[bool]
    notes: Mapped[str] = mapped_column(Text, default="")


class WaitEntryRow(Base):
    __tablename__ = "wait_entries"
    __table_args__ = (Index("ix_wait_entries_type_status_position", "device_type", "status", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    device_type: Mapped[DeviceType] = mapped_column(_enum(DeviceType))
    position: Mapped[int] = mapped_column(Integer)
    joined_at: Mapped[datetime]
    status: Mapped[WaitStatus] = mapped_column(_enum(WaitStatus))
    offered_device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("devices.id"))
    offer_expires_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None]


class WaitEventRow(Base):
    """Why a waiting-list entry moved: joined, reordered (with the reason), offered, passed on, fulfilled."""

    __tablename__ = "wait_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wait_entries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(120))
    what: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")


class DataPlanRow(Base):
    """The data that goes with a SIM or MiFi device."""

    __tablename__ = "data_plans"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    network: Mapped[str] = mapped_column(String(60), default="")
    source: Mapped[str] = mapped_column(String(80), default="")
    allowance: Mapped[str] = mapped_column(String(60), default="")
    activated_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)


class InclusionChangeRow(Base):
    """A resident's inclusion status changed (the history behind "included this month")."""

    __tablename__ = "inclusion_changes"
    __table_args__ = (
        Index("ix_inclusion_changes_resident_id_at", "resident_id", "at"),
        # Covers a period's changes, so a report reads a month or a year of them and not ten years.
        Index("ix_inclusion_changes_at", "at", "resident_id", "from_status", "to_status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    from_status: Mapped[InclusionStatus] = mapped_column(_enum(InclusionStatus))
    to_status: Mapped[InclusionStatus] = mapped_column(_enum(InclusionStatus))


class ChampionRow(Base):
    __tablename__ = "champions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    trained_on: Mapped[date | None] = mapped_column(Date)
    dbs_checked_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChampionVenueRow(Base):
    """A venue a champion helps at."""

    __tablename__ = "champion_venues"

    champion_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("champions.id", ondelete="CASCADE"), primary_key=True
    )
    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id"), primary_key=True)


class SessionRow(Base):
    """A support session (the table is named for what it holds; not a database session)."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_held_on_starts_at", "held_on", "starts_at"),
        Index("ix_sessions_venue_id_held_on", "venue_id", "held_on", "starts_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    held_on: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[time] = mapped_column(Time)
    minutes: Mapped[int] = mapped_column(Integer)
    kind: Mapped[SessionKind] = mapped_column(_enum(SessionKind))
    venue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("venues.id"))
    loan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loans.id"), index=True)
    outcome: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)
    follow_up: Mapped[str] = mapped_column(Text, default="")
    follow_up_done_on: Mapped[date | None] = mapped_column(Date)
    logged_by: Mapped[str] = mapped_column(String(120))
    logged_at: Mapped[datetime]


class SessionChampionRow(Base):
    __tablename__ = "session_champions"
    # The session's day and start are kept here too, so one champion's month is read from this index
    # alone rather than from every session they ever led.
    # The session's length is the champion's volunteer time in it, read with the day for a month's hours.
    __table_args__ = (
        Index(
            "ix_session_champions_champion_id_held_on", "champion_id", "held_on", "starts_at", "session_id"
        ),
        Index("ix_session_champions_held_on", "held_on", "champion_id", "minutes"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    champion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("champions.id"), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[time] = mapped_column(Time)
    minutes: Mapped[int] = mapped_column(Integer)


class SessionAttendeeRow(Base):
    """Someone a session helped: a registered resident, or an anonymous attendee (age band and ward)."""

    __tablename__ = "session_attendees"
    # The session's day is kept here too, so a month's attendees are read from one index range.
    __table_args__ = (Index("ix_session_attendees_held_on", "held_on", "resident_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("residents.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    age_band: Mapped[AgeBand] = mapped_column(_enum(AgeBand))
    ward_code: Mapped[str | None] = mapped_column(ForeignKey("wards.code"))


class SessionTopicRow(Base):
    __tablename__ = "session_topics"
    __table_args__ = (Index("ix_session_topics_held_on", "held_on", "topic", "session_id"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)  # the session's, for a month's topics from one index


class ChampionHoursRow(Base):
    """Volunteer time outside sessions: training, setting up devices, outreach."""

    __tablename__ = "champion_hours"
    __table_args__ = (Index("ix_champion_hours_champion_id_worked_on", "champion_id", "worked_on"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    champion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("champions.id", ondelete="CASCADE"))
    worked_on: Mapped[date] = mapped_column(Date, index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    kind: Mapped[HoursKind] = mapped_column(_enum(HoursKind))
    note: Mapped[str] = mapped_column(Text, default="")
    logged_by: Mapped[str] = mapped_column(String(120))


class SkillsCheckRow(Base):
    __tablename__ = "skills_checks"
    # Covers what working out a status reads of a resident's latest check: no look-up in the table.
    __table_args__ = (
        Index(
            "ix_skills_checks_resident_id_checked_on",
            "resident_id",
            "checked_on",
            "recorded_at",
            "id",
            "own_device",
            "own_connection",
            "foundation",
            "areas_alone",
        ),
        Index("ix_skills_checks_checked_on", "checked_on", "resident_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    checked_on: Mapped[date] = mapped_column(Date)
    checked_by: Mapped[str] = mapped_column(String(120))
    own_device: Mapped[bool] = mapped_column(default=False)
    own_connection: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime]
    # All the inclusion rule asks of the levels, kept with the check (the levels are in skills_check_levels).
    foundation: Mapped[SkillLevel] = mapped_column(_enum(SkillLevel))
    areas_alone: Mapped[int] = mapped_column(Integer)


class SkillsCheckLevelRow(Base):
    __tablename__ = "skills_check_levels"

    check_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("skills_checks.id", ondelete="CASCADE"), primary_key=True
    )
    area: Mapped[SkillArea] = mapped_column(_enum(SkillArea), primary_key=True)
    level: Mapped[SkillLevel] = mapped_column(_enum(SkillLevel))


class StaffAccountRow(Base):
    """A staff member's sign-in account; the password only as an Argon2id hash."""

    __tablename__ = "staff_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    champion_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("champions.id"))
    active: Mapped[bool] = mapped_column(default=True)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_signed_in_at: Mapped[datetime | None]


class AuditEntryRow(Base):
    """One change: who, when, from which machine, what. Append-only: database triggers refuse to
    delete an entry or change it, except to blank its details when the resident they name is erased or
    anonymised (then `redacted` is set)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_at", "at"),
        Index("ix_audit_entries_resident_id", "resident_id"),
        Index("ix_audit_entries_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(40), default="")  # "" before any account existed
    staff_name: Mapped[str] = mapped_column(String(120))
    machine: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(60), default="")  # a tag, reference or user name
    resident_id: Mapped[uuid.UUID | None]  # no foreign key: the entry outlives nothing it names
    details: Mapped[str] = mapped_column(Text, default="")  # JSON: what changed
    redacted: Mapped[bool] = mapped_column(default=False)


# A sequence number that is a 64-bit integer on the server and SQLite's own row id in a file.
_SEQUENCE = BigInteger().with_variant(Integer, "sqlite")


class SyncStateRow(Base):
    """This database's part in venue sync, in its one row (id 1). A standalone database or the server
    leaves it as it is. On a venue copy `recording` is on: triggers write every change into the outbox,
    grouped under `txn`, which each write transaction moves on by one."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    copy_id: Mapped[uuid.UUID | None]  # this copy's name on the server
    venue_id: Mapped[uuid.UUID | None]
    server: Mapped[str] = mapped_column(Text, default="")  # the server's URL, without a password
    recording: Mapped[bool] = mapped_column(default=False)
    txn: Mapped[int] = mapped_column(Integer, default=0)
    # The server's transactions older than this are in the copy (see services/sync.py).
    received_to: Mapped[int] = mapped_column(BigInteger, default=0)
    last_sync_at: Mapped[datetime | None]
    # Resident references are handed out by the server in blocks; the last number this copy may use.
    last_reference: Mapped[int] = mapped_column(Integer, default=0)
    # A resident erased on the server reached this copy, and the old text is still to be cleared from
    # the file (VACUUM runs outside a transaction, so a power cut can come between).
    clear_file: Mapped[bool] = mapped_column(default=False)
    # On the server: the feed holds every change from this server transaction on (older ones pruned).
    feed_from: Mapped[int] = mapped_column(BigInteger, default=0)
    # On a venue copy: the server has its transactions up to this one (and the outbox no longer does).
    sent_txn: Mapped[int] = mapped_column(Integer, default=0)


class SyncOutboxRow(Base):
    """On a venue copy: one row changed by a local transaction, waiting to be sent to the server. The
    row as it was and as it became are kept as SQLite stores them (JSON), so the server can tell whether
    someone else changed it meanwhile."""

    __tablename__ = "sync_outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    txn: Mapped[int] = mapped_column(Integer, index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_key: Mapped[str] = mapped_column(Text)  # JSON array of the primary key's values
    op: Mapped[str] = mapped_column(String(6))  # insert, update or delete
    old_row: Mapped[str | None] = mapped_column(Text)
    new_row: Mapped[str | None] = mapped_column(Text)


class SyncRecheckRow(Base):
    """On a venue copy: a row it sent, to read back from the server at the next receive. Most come back
    as they went; the rows of a transaction kept as a conflict come back as the server has them."""

    __tablename__ = "sync_recheck"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    row_key: Mapped[str] = mapped_column(Text, primary_key=True)


class SyncFeedRow(Base):
    """On the server: one row changed by a committed transaction, for venue copies to fetch. `xid` is
    the server's transaction id, which tells a copy safely what it has not yet seen."""

    __tablename__ = "sync_feed"

    seq: Mapped[int] = mapped_column(_SEQUENCE, primary_key=True, autoincrement=True)
    xid: Mapped[int] = mapped_column(BigInteger, index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_key: Mapped[str] = mapped_column(Text)
    op: Mapped[str] = mapped_column(String(6))
    origin: Mapped[str] = mapped_column(String(36), default="")  # the venue copy that sent it, if one did


class SyncCopyRow(Base):
    """On the server: one venue copy (a laptop set up for a venue) and how far its outbox has come in."""

    __tablename__ = "sync_copies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id"))
    computer: Mapped[str] = mapped_column(String(120))
    set_up_by: Mapped[str] = mapped_column(String(120))
    set_up_at: Mapped[datetime]
    received_txn: Mapped[int] = mapped_column(Integer, default=0)  # the copy's transactions up to here are in
    # The oldest server transaction the copy may still read from the feed, as of its last sync.
    received_to: Mapped[int] = mapped_column(BigInteger, default=0)
    # A digest of the copy's last transaction the server has: a copy's file put back from an older copy
    # of itself is told apart from one whose last sync was cut short (services/sync.py).
    received_check: Mapped[str] = mapped_column(String(64), default="")
    last_sync_at: Mapped[datetime | None]


class SyncConflictRow(Base):
    """On the server: a venue copy's transaction that could not be applied because the rows it changed
    had changed here meanwhile, or a rule refused it. Nothing is overwritten: the venue's changes and
    the server's rows as they were are both kept until a coordinator resolves it."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (UniqueConstraint("copy_id", "txn"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    copy_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sync_copies.id"))
    txn: Mapped[int] = mapped_column(Integer)
    detected_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text)
    venue_changes: Mapped[str] = mapped_column(Text)  # JSON list: table, key, op, before, after
    server_rows: Mapped[str] = mapped_column(Text)  # JSON list: table, key, the server's row or null
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    resolved_by: Mapped[str] = mapped_column(String(120), default="")
    resolution: Mapped[str] = mapped_column(String(10), default="")  # server or venue
