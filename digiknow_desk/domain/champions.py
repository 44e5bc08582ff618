"""Digital Champions: who they are, where they help, and when their training and DBS check lapse."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.residents import MAX_NAME, contact_problems


@dataclass(frozen=True)
class ChampionRules:
    """How long training and a DBS check last, and how early the app warns before they lapse."""

    training_months: int = 24
    dbs_months: int = 36
    warn_days: int = 30

    def problems(self) -> dict[str, str]:
        problems = {}
        if not 1 <= self.training_months <= 120:
            problems["training_months"] = "Training lasts between 1 and 120 months."
        if not 1 <= self.dbs_months <= 120:
            problems["dbs_months"] = "A DBS check lasts between 1 and 120 months."
        if not 1 <= self.warn_days <= 180:
            problems["warn_days"] = "Warn between 1 and 180 days before."
        return problems

    def check(self) -> None:
        if problems := self.problems():
            raise ValidationError(problems)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer days (31 Jan + 1: 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has at least 28 days")


class Lapse(StrEnum):
    """Where a champion's training or DBS check stands on a day."""

    MISSING = "missing"
    LAPSED = "lapsed"
    LAPSING = "lapsing"
    CURRENT = "current"

    @property
    def needs_attention(self) -> bool:
        return self is not Lapse.CURRENT


@dataclass(frozen=True)
class ChampionDraft:
    name: str
    phone: str = ""
    email: str = ""
    venue_ids: frozenset[uuid.UUID] = frozenset()
    trained_on: date | None = None
    dbs_checked_on: date | None = None
    active: bool = True

    def cleaned(self) -> ChampionDraft:
        return ChampionDraft(
            name=" ".join(self.name.split()),
            phone=" ".join(self.phone.split()),
            email=self.email.strip(),
            venue_ids=self.venue_ids,
            trained_on=self.trained_on,
            dbs_checked_on=self.dbs_checked_on,
            active=self.active,
        )

    def problems(self, today: date) -> dict[str, str]:
        problems = {}
        if not self.name:
            problems["name"] = "Enter the champion's name."
        elif len(self.name) > MAX_NAME:
            problems["name"] = f"Keep the name to {MAX_NAME} characters."
        problems.update(contact_problems(self.phone, self.email))
        for field_name, day in (("trained_on", self.trained_on), ("dbs_checked_on", self.dbs_checked_on)):
            if day is not None and day > today:
                problems[field_name] = "That date is in the future: check it."
        return problems


@dataclass(frozen=True)
class Champion:
    id: uuid.UUID
    name: str
    phone: str
    email: str
    venues: tuple[tuple[uuid.UUID, str], ...]  # (id, name), by name
    trained_on: date | None
    dbs_checked_on: date | None
    active: bool

    @property
    def venue_names(self) -> str:
        return ", ".join(name for _id, name in self.venues)

    def training_due(self, rules: ChampionRules) -> date | None:
        return add_months(self.trained_on, rules.training_months) if self.trained_on else None

    def dbs_due(self, rules: ChampionRules) -> date | None:
        return add_months(self.dbs_checked_on, rules.dbs_months) if self.dbs_checked_on else None

    def training_lapse(self, rules: ChampionRules, today: date) -> Lapse:
        return _lapse(self.training_due(rules), rules, today)

    def dbs_lapse(self, rules: ChampionRules, today: date) -> Lapse:
        return _lapse(self.dbs_due(rules), rules, today)

    def warnings(self, rules: ChampionRules, today: date) -> list[str]:
        """What needs doing about this champion's training and DBS check, in words; none if all is well."""
        found = []
        for what, due, lapse in (
            ("training", self.training_due(rules), self.training_lapse(rules, today)),
            ("DBS check", self.dbs_due(rules), self.dbs_lapse(rules, today)),
        ):
            if lapse is Lapse.MISSING:
                found.append(f"no {what} recorded")
            elif lapse is Lapse.LAPSED and due is not None:
                found.append(f"{what} lapsed on {due:%d %b %Y}".replace(" 0", " "))
            elif lapse is Lapse.LAPSING and due is not None:
                found.append(f"{what} lapses on {due:%d %b %Y}".replace(" 0", " "))
        return found


def _lapse(due: date | None, rules: ChampionRules, today: date) -> Lapse:
    if due is None:
        return Lapse.MISSING
    if due <= today:
        return Lapse.LAPSED
    if due <= today + timedelta(days=rules.warn_days):
        return Lapse.LAPSING
    return Lapse.CURRENT
