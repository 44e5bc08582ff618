"""The words a resident can be found by, and a typed search as words to look up.

Search as you type matches the start of each word: 'smi' finds Smith, 'sk4' finds SK4 2HD, '4744444'
finds 0161 474 4444 and 'r42' finds R-00042. The words are kept one per row in an indexed table, so a
search is a range lookup per word rather than a scan of every resident.
"""

from __future__ import annotations

import re
import unicodedata

from digiknow_desk.domain.residents import looks_like_reference, normalise_reference

MAX_TERM = 60  # the length of the database column
SHORTEST_PHONE_TAIL = 4  # '4444' finds 0161 474 4444; shorter tails would match half the list
# A search word that is (part of) a phone number typed with punctuation: '0161-474', '(0161)', '+44'.
_PHONE_WORD = re.compile(r"^[+(]*[0-9][0-9()+.\-/]*$")
_WORD_PARTS = re.compile(r"[^\w]+")
# The two halves of a postcode typed with its space ('SK4 2HD', or 'sk4 2' so far).
_OUTWARD_CODE = re.compile(r"^[a-z]{1,2}[0-9][a-z0-9]?$", re.IGNORECASE)
_INWARD_START = re.compile(r"^[0-9][a-z]{0,2}$", re.IGNORECASE)


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def phone_key(phone: str) -> str:
    """A phone number as national digits, so '+44 161 474 4444' and '0161-474 4444' compare equal."""
    number = digits(phone)
    if number.startswith("0044"):
        rest = number[4:]
    elif number.startswith("44") and len(number) >= 12:
        rest = number[2:]
    else:
        return number
    # '+44 (0)161 ...' carries the national 0 as well.
    return "0" + (rest[1:] if rest.startswith("0") else rest)


def fold(text: str) -> str:
    """Lower case without accents, so 'José' and 'jose' are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _word_terms(text: str) -> set[str]:
    """Each word, each part of a word with punctuation ('mary-jane': mary, jane) and the word without it."""
    terms: set[str] = set()
    for word in fold(text).split():
        parts = [part for part in _WORD_PARTS.split(word) if part]
        terms.update((word, "".join(parts), *parts))
    return terms


def resident_terms(reference: str, name: str, phone: str, postcode: str, email: str) -> set[str]:
    """Every word the resident can be found by (a search word must be the start of one of them)."""
    terms = _word_terms(name) | _word_terms(postcode)
    terms.update((reference.lower(), reference.replace("-", "").lower(), "".join(postcode.split()).lower()))
    national = phone_key(phone)
    if national:
        terms.update((digits(phone), national))
        if national.startswith("0"):
            terms.add(f"44{national[1:]}")  # typed internationally without the +
        # The tail of the number, so the last digits (often all a resident remembers) find it too.
        terms.update(national[start:] for start in range(1, len(national) - SHORTEST_PHONE_TAIL + 1))
    if email:
        terms.add(fold(email))
    return {term[:MAX_TERM] for term in terms if term}


def search_words(text: str) -> list[tuple[str, ...]]:
    """A typed search as the words to look up, each a choice of starts of a term: folded, with and
    without punctuation ('smith,': smith), a phone number however it is grouped ('07700 900 123'), a
    reference in full or as typed so far ('r-004' means R-00004 or the start of R-00420), a postcode
    typed with its space as one word ('sk4 2': 'sk42'); empty words and repeats dropped."""
    typed = text.split()
    words: list[tuple[str, ...]] = []
    while typed:
        word = typed.pop(0)
        if _OUTWARD_CODE.match(word) and typed and _INWARD_START.match(typed[0]):
            choices: tuple[str, ...] = (fold(word + typed.pop(0)),)
        elif looks_like_reference(word):
            choices = (normalise_reference(word).lower(), word.lower())
        elif _PHONE_WORD.match(word) and (number := digits(word)):
            while typed and _PHONE_WORD.match(typed[0]):  # the rest of a number read out in groups
                number += digits(typed.pop(0))
            choices = (number, phone_key(number))
        else:
            folded = fold(word)
            choices = (folded, "".join(part for part in _WORD_PARTS.split(folded) if part))
        kept = tuple(dict.fromkeys(choice[:MAX_TERM] for choice in choices if choice))
        if kept:
            words.append(kept)
    return list(dict.fromkeys(words))


def after_all_starting_with(start: str) -> str | None:
    """The first string after every string that starts with `start` (the end of its index range), or
    None when there is none (`start` is all U+10FFFF)."""
    while start:
        code = ord(start[-1]) + 1
        if code == 0xD800:  # surrogates are not characters: skip over them
            code = 0xE000
        if code <= 0x10FFFF:
            return start[:-1] + chr(code)
        start = start[:-1]
    return None
