"""Which imported password hashes the directory keeps: those our slapd verifies and that are not broken.

The private slapd (``config/ldap/slapd.ldif.in``) loads the ``argon2`` module, and checks ``{SSHA}`` and
``{SHA}`` itself and ``{CRYPT}`` through the system's crypt(3) (libxcrypt on Debian 12: SHA-crypt, yescrypt,
bcrypt). Those are written to the entry's ``userPassword`` as they are, so the person signs in with their
old password. slapd would also verify ``{MD5}``, ``{SMD5}``, DES and MD5 crypt, but those are broken: like
cleartext and the schemes slapd does not know (``{PBKDF2…}``, ``{SSHA512}`` without its module, ``{SASL}``…),
they are not kept and the person gets a one-time password instead.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

NOT_KEPT = "{NOT-KEPT}"  # marks a value removed from a stored upload (see ldif.redact_passwords)
KEPT_SCHEMES = ("SSHA", "SHA", "CRYPT", "ARGON2")
# Scheme names we may repeat in a preview. Anything else between braces may be the start of a cleartext
# password, so it is only ever called "cleartext or unknown".
_NAMED = frozenset(
    {
        "MD5",
        "SMD5",
        "CLEARTEXT",
        "SASL",
        "K5KEY",
        "KERBEROS",
        "UNIX",
        "NS-MTA-MD5",
        "BCRYPT",
        "PBKDF2",
        "PBKDF2-SHA1",
        "PBKDF2-SHA256",
        "PBKDF2-SHA512",
        "SHA256",
        "SSHA256",
        "SHA384",
        "SSHA384",
        "SHA512",
        "SSHA512",
        "TOTP1",
        "SCRYPT",
    }
)
_SCHEME = re.compile(r"^\{([A-Za-z0-9._-]{1,32})\}")
# crypt(3) methods that are not broken: SHA-256/512-crypt, yescrypt, gost-yescrypt, bcrypt, scrypt.
_GOOD_CRYPT = re.compile(r"^\$(5|6|y|gy|2a|2b|2y|7)\$[./A-Za-z0-9$=,]+$")
_ARGON2 = re.compile(r"^\$argon2(id|i)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


@dataclass(frozen=True)
class Verdict:
    """``scheme``: a name safe to show ('SSHA', 'MD5', 'cleartext'…); ``is_kept``: written to slapd as it is."""

    scheme: str
    is_kept: bool

    @property
    def label(self) -> str:
        return self.scheme if self.scheme in ("cleartext", "unreadable") else f"{{{self.scheme}}}"


def classify(value: str) -> Verdict:
    """What an exported ``userPassword`` value is, and whether it is kept."""
    if value.startswith(NOT_KEPT):
        scheme = value[len(NOT_KEPT) :].strip()
        known = scheme in _NAMED or scheme in KEPT_SCHEMES or scheme in ("cleartext", "unreadable")
        return Verdict(scheme if known else "cleartext", False)
    match = _SCHEME.match(value)
    if match is None:
        return Verdict("cleartext", False)
    scheme, rest = match.group(1).upper(), value[match.end() :]
    if scheme == "SSHA":
        return Verdict("SSHA", _digest_length(rest) > 20)  # SHA-1 digest + a salt
    if scheme == "SHA":
        return Verdict("SHA", _digest_length(rest) == 20)
    if scheme == "CRYPT":
        return Verdict("CRYPT", bool(_GOOD_CRYPT.match(rest)))
    if scheme == "ARGON2":
        return Verdict("ARGON2", bool(_ARGON2.match(rest)))
    return Verdict(scheme if scheme in _NAMED else "cleartext", False)


def _digest_length(text: str) -> int:
    try:
        return len(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError):
        return -1
