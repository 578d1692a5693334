"""Password rules checked before a password goes to slapd, and one-time passwords for resets."""

from __future__ import annotations

import secrets
import string

from provisioning.names import fold_ascii

# No look-alikes (0/O, 1/l/I): a one-time password is often read out over the phone.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0OoIl1")
_SYMBOLS = "!@#$%&*+-=?"


class WeakPasswordError(ValueError):
    """The password breaks a rule; the message says which."""


def check_password(password: str, *, min_length: int, personal: tuple[str, ...] = ()) -> None:
    """Length, at least three of four character classes, and none of the person's names or address."""
    if len(password) < min_length:
        raise WeakPasswordError(f"password: at least {min_length} characters")
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    if sum(classes) < 3:
        raise WeakPasswordError("password: use at least three of lower case, upper case, digits and symbols")
    folded = fold_ascii(password)
    for item in personal:
        for word in item.replace("@", " ").replace(".", " ").split():
            token = fold_ascii(word)
            if len(token) >= 3 and token in folded:
                raise WeakPasswordError(f"password: must not contain the name or address part {word!r}")


def one_time_password(groups: int = 3) -> str:
    """e.g. 'k7Fq-Rz4m-W9x!': strong, readable, and valid under :func:`check_password`."""
    while True:
        parts = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(groups)]
        candidate = "-".join(parts) + secrets.choice(_SYMBOLS)
        try:
            check_password(candidate, min_length=12)
        except WeakPasswordError:
            continue
        return candidate
