"""Vietnamese personal names: cleaning, splitting into family/middle/given, and mailbox addresses.

Kinh names put the family name first and the given name last ("Nguyễn Văn An"). Central Highlands names
(Jrai, Bahnar, Ê Đê…) come in the same lists: some family names have two words ("Rơ Châm", "Rah Lan"),
and gender markers ("Y", "H'", "A", "Ksor Y") belong to the middle, not to the given name. The default
address policy is the common convention: given name + initials of the other parts (annv@…).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass


class InvalidNameError(ValueError):
    """A name or local part cannot be used; the message names the value and the problem."""


APOSTROPHES = "’ʼ‘`´ʹ′"  # these look-alikes are exactly what we normalise
_WHITESPACE = re.compile(r"\s+")
# Two-word family names of the Jrai and Bahnar peoples, matched before splitting on spaces.
MULTIWORD_FAMILY_NAMES = ("Rơ Châm", "Rơ Mah", "Rơ Lan", "Rah Lan", "Rơ Ô", "Kơ Sor", "Rơ Com", "Nay Rơ")
MAX_LOCAL_PART = 64
_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")


def normalize_text(value: str) -> str:
    """One Unicode form (NFC) for everything stored and compared; nothing else changes."""
    return unicodedata.normalize("NFC", value)


def clean_name(value: str) -> str:
    """NFC, one space between words (NBSP and tabs too), no outer spaces, ASCII apostrophes."""
    text = normalize_text(value).replace("\ufeff", "")
    for mark in APOSTROPHES:
        text = text.replace(mark, "'")
    text = _WHITESPACE.sub(" ", text.replace("\u00a0", " ")).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidNameError(f"name {value!r} contains control characters")
    if len(text) > 200:
        raise InvalidNameError(f"name {text[:40]!r}… is longer than 200 characters")
    return text


@dataclass(frozen=True)
class NameParts:
    family: str
    middle: str
    given: str

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.family, self.middle, self.given) if p)


def split_name(full_name: str) -> NameParts:
    """Split a cleaned full name into family, middle and given parts (see the module docstring)."""
    text = clean_name(full_name)
    if not text:
        raise InvalidNameError("name is empty")
    for family in MULTIWORD_FAMILY_NAMES:
        if text.casefold().startswith(family.casefold() + " "):
            rest = text[len(family) + 1 :].split(" ")
            return NameParts(text[: len(family)], " ".join(rest[:-1]), rest[-1])
    words = text.split(" ")
    if len(words) == 1:
        return NameParts("", "", words[0])
    return NameParts(words[0], " ".join(words[1:-1]), words[-1])


def fold_ascii(text: str) -> str:
    """Lowercase a–z and digits only: Đ/đ → d, diacritics dropped, apostrophes and the rest removed."""
    text = normalize_text(text).replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in stripped.lower() if ch.isascii() and ch.isalnum())


def search_key_of(full_name: str, email: str) -> str:
    """ " nguyen van an annv@gialai.gov.vn": each word of the name folded, then the address (see
    ``provisioning.people``); a search matches ``% word%``, at the start of a word."""
    words = [fold_ascii(w) for w in full_name.split()]
    return (" " + " ".join(w for w in words if w) + " " + email.lower())[:700]


def _initials(*parts: str) -> str:
    letters = []
    for part in parts:
        for word in part.split(" "):
            folded = fold_ascii(word)
            if folded:
                letters.append(folded[0])
    return "".join(letters)


def _policy_given_initials(parts: NameParts) -> str:
    return fold_ascii(parts.given) + _initials(parts.family, parts.middle)


def _policy_given_dot_family(parts: NameParts) -> str:
    given, family = fold_ascii(parts.given), fold_ascii(parts.family)
    return f"{given}.{family}" if given and family else given or family


def _policy_family_given(parts: NameParts) -> str:
    return fold_ascii(parts.family) + fold_ascii(parts.given)


def _policy_full(parts: NameParts) -> str:
    return ".".join(w for w in (fold_ascii(x) for x in parts.full.split(" ")) if w)


ADDRESS_POLICIES: dict[str, Callable[[NameParts], str]] = {
    "given_initials": _policy_given_initials,  # Nguyễn Văn An → annv
    "given.family": _policy_given_dot_family,  # → an.nguyen
    "family_given": _policy_family_given,  # → nguyenan
    "full": _policy_full,  # → nguyen.van.an
}


def generate_local_part(full_name: str, policy: str = "given_initials") -> str:
    """The address's local part for a name under ``policy``; InvalidNameError if nothing usable remains."""
    if policy not in ADDRESS_POLICIES:
        raise InvalidNameError(f"unknown address policy {policy!r}; choose one of {', '.join(ADDRESS_POLICIES)}")
    parts = split_name(full_name)
    local = ADDRESS_POLICIES[policy](parts).strip(".")[:MAX_LOCAL_PART].strip(".")
    if not local or not local[0].isalnum():
        raise InvalidNameError(f"name {full_name!r} gives no usable letters for an address")
    if local.isdigit():
        raise InvalidNameError(f"name {full_name!r} gives an address of digits only")
    return local


def unique_local_part(base: str, is_taken: Callable[[str], bool]) -> str:
    """``base`` if free, else base2, base3, … (collisions are numbered from 2)."""
    if not is_taken(base):
        return base
    n = 2
    while True:
        suffix = str(n)
        candidate = base[: MAX_LOCAL_PART - len(suffix)] + suffix
        if not is_taken(candidate):
            return candidate
        n += 1


def validate_local_part(value: str) -> str:
    """Check a local part chosen by a person (override of the generated one)."""
    local = value.strip().lower()
    if not _LOCAL_PART.match(local) or ".." in local:
        raise InvalidNameError(
            f"address {value!r}: use 1–64 of a–z, 0–9, '.', '-', '_', starting and ending with a letter or digit"
        )
    return local


# Vietnamese alphabetical order: a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y (f, j, w, z after, for
# foreign names); tone marks only break ties (none, grave, hook, tilde, acute, dot below).
_ALPHABET_VI = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
_MODIFIERS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn: part of the letter, not a tone


def vietnamese_sort_key(text: str) -> str:
    """A key whose byte order is Vietnamese alphabetical order (letters first, tones to break ties); compare it
    bytewise (PostgreSQL: COLLATE "C")."""
    letters: list[str] = []
    tones: list[str] = []
    for ch in unicodedata.normalize("NFC", text.lower()):
        if ch == " ":
            letters.append('"')  # after the end of a word ('!'), before every letter
            tones.append('"')
            continue
        parts = unicodedata.normalize("NFD", ch)
        tone = next((_TONES[m] for m in parts[1:] if m in _TONES), "0")
        base = unicodedata.normalize("NFC", parts[0] + "".join(m for m in parts[1:] if m in _MODIFIERS))
        index = _ALPHABET_VI.find(base)
        letters.append(chr(0x41 + index) if index >= 0 else ("~" + base if base.isalnum() else ""))
        tones.append(tone)
    return "".join(letters) + "!" + "".join(tones)  # '!' sorts before letters: "An" before "Anh"


def staff_sort_key(given: str, family: str, middle: str) -> str:
    """Staff in Vietnamese order: by given name, then family name, then middle name."""
    return "#".join(vietnamese_sort_key(part) for part in (given, family, middle))[:600]
