"""Input bounds shared by every layer: the API's bodies and query strings, the console's forms, CLI options and
the verbs themselves. Each check names the field it refuses; the domains raise their own error class through
``error`` so their callers keep catching what they already catch.

Also the JSON Schema of each kind of field, so the API document states exactly the bounds that are enforced.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

# The largest id (and whole number) any route, body or query accepts: the tables keep ids in INTEGER columns,
# signed 32 bits on PostgreSQL.
MAX_ID = 2**31 - 1
# Dates anywhere (views, searches, reports): wide enough for any real use, narrow enough that a day's
# arithmetic never leaves what Python and the databases can hold.
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2099, 12, 31)


class InputError(ValueError):
    """Something typed or sent cannot be used; ``field`` names it and the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored (NUL or another control character, a lone surrogate), or None."""
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs":
            return "contains an invalid character (a lone surrogate)"
        if category == "Cc" and ch not in "\t\n\r":
            return "contains a control character"
    return None


def clean_text(
    value: object,
    field: str,
    *,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
    error: type[Exception] = InputError,
) -> str:
    """A stripped string of at most ``max_length`` characters without control characters (newlines only
    where ``multiline``) or lone surrogates; refuses anything else by the field's name."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _error(error, field, "must be text")
    text = value.strip()
    problem = text_problem(text)
    if problem is None and not multiline and any(ch in text for ch in "\t\n\r"):
        problem = "must be on one line"
    if problem:
        raise _error(error, field, problem)
    if required and not text:
        raise _error(error, field, "must not be empty")
    if len(text) > max_length:
        raise _error(error, field, f"at most {max_length} characters (got {len(text)})")
    return text


def clean_int(
    value: object,
    field: str,
    *,
    minimum: int = 1,
    maximum: int = MAX_ID,
    error: type[Exception] = InputError,
) -> int:
    """A whole number within [minimum, maximum]; ``true``/``false`` and fractions are not numbers here."""
    if isinstance(value, bool) or value is None:
        raise _error(error, field, "a whole number is required")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) <= 25:
        number = int(value.strip())
    else:
        raise _error(error, field, f"{str(value)[:40]!r} is not a whole number")
    if not minimum <= number <= maximum:
        raise _error(error, field, f"must be between {minimum} and {maximum}")
    return number


def clean_date(
    value: object,
    field: str,
    *,
    earliest: dt.date = MIN_DATE,
    latest: dt.date = MAX_DATE,
    error: type[Exception] = InputError,
) -> dt.date:
    """A day given as yyyy-mm-dd or dd/mm/yyyy, between ``earliest`` and ``latest``."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = str(value or "").strip()[:40]
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                day = dt.datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
        else:
            raise _error(error, field, f"{text!r} is not a date (dd/mm/yyyy or yyyy-mm-dd)")
    if not earliest <= day <= latest:
        raise _error(error, field, f"must be between {earliest:%d/%m/%Y} and {latest:%d/%m/%Y}")
    return day


def check_strings(data: object, where: str = "body") -> None:
    """Refuse a decoded JSON document holding a string that cannot be stored (a NUL, a lone surrogate)
    anywhere, naming its path: such text fails deep inside a database driver otherwise."""
    stack: list[tuple[str, object]] = [(where, data)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item.replace("\t", "").replace("\n", "").replace("\r", ""))
            if problem:
                raise InputError(path, problem)
        elif isinstance(item, Mapping):
            for key, value in item.items():
                if isinstance(key, str) and text_problem(key):
                    raise InputError(path, "a key contains an invalid character")
                stack.append((f"{key}" if path == where else f"{path}.{key}", value))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(item))


def _error(error: type[Exception], field: str, message: str) -> Exception:
    return InputError(field, message) if error is InputError else error(f"{field}: {message}")


# -- JSON Schema of the same bounds, for the API document -------------------------------------------------


def text_schema(max_length: int, *, min_length: int = 0, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, **({"minLength": min_length} if min_length else {}), **extra}


def int_schema(minimum: int = 1, maximum: int = MAX_ID, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, **extra}


def enum_schema(values: Iterable[str], **extra: Any) -> dict[str, Any]:
    return {"type": "string", "enum": list(values), **extra}


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def check_json(schema: Mapping[str, Any], value: object, path: str) -> None:
    """Check a decoded JSON value against the subset of JSON Schema the API document uses (type, enum,
    lengths, bounds, items, properties, required, additionalProperties), naming the first field refused."""
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        is_bool = isinstance(value, bool)
        if not any(isinstance(value, _JSON_TYPES[n]) and not (is_bool and n in ("integer", "number")) for n in names):
            raise InputError(path, f"must be {' or '.join(names)}")
    if "enum" in schema and value not in schema["enum"]:
        raise InputError(path, f"must be one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", 100_000):
            raise InputError(path, f"at most {schema['maxLength']} characters")
        if len(value) < schema.get("minLength", 0):
            raise InputError(path, "must not be empty" if schema["minLength"] == 1 else "too short")
        problem = text_problem(value.replace("\t", "").replace("\n", "").replace("\r", ""))
        if problem:
            raise InputError(path, problem)
    elif isinstance(value, int) and not isinstance(value, bool):
        if value < schema.get("minimum", -MAX_ID) or value > schema.get("maximum", MAX_ID):
            raise InputError(
                path, f"must be between {schema.get('minimum', -MAX_ID)} and {schema.get('maximum', MAX_ID)}"
            )
    elif isinstance(value, list):
        if len(value) > schema.get("maxItems", 10_000):
            raise InputError(path, f"at most {schema['maxItems']} items")
        for i, item in enumerate(value):
            if "items" in schema:
                check_json(schema["items"], item, f"{path}[{i}]")
    elif isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                raise InputError(_join(path, key), "is required")
        for key, item in value.items():
            if key in properties:
                check_json(properties[key], item, _join(path, key))
            elif schema.get("additionalProperties") is False:
                raise InputError(_join(path, str(key)[:40]), "is not a known field")
    if "oneOf" in schema:
        problems = []
        for option in schema["oneOf"]:
            try:
                check_json(option, value, path)
                return
            except InputError as exc:
                problems.append(str(exc))
        raise InputError(path, problems[0].partition(": ")[2] if problems else "is not valid")


def _join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"
