"""The errors that services raise; each message tells a person what went wrong and what to do."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse; the message is shown to staff as it is."""


class NotFound(DomainError):
    """The record asked for does not exist."""


class ValidationError(DomainError):
    """One or more fields are not acceptable; `problems` maps each field to its message."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(" ".join(self.problems.values()))


class InvalidTransition(DomainError):
    """A status change the state machine does not allow."""
