"""Wards and venues: where the scheme works."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Ward:
    code: str
    name: str
    population: int


@dataclass(frozen=True)
class Venue:
    id: uuid.UUID
    name: str
    ward_code: str
    ward_name: str
    active: bool


@dataclass(frozen=True)
class VenueDraft:
    name: str
    ward_code: str
    active: bool = True

    def cleaned(self) -> VenueDraft:
        return VenueDraft(
            name=" ".join(self.name.split()), ward_code=self.ward_code.strip(), active=self.active
        )
