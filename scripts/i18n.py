"""Keep the message catalogs in step with the code.

python scripts/i18n.py           extract, update vi/en catalogs, compile
python scripts/i18n.py --check   write nothing; fail if a message of the code lacks a Vietnamese translation
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "admin_app" / "translations"


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT, capture_output=True)


def extract(pot: Path) -> None:
    pybabel("extract", "-F", "babel.cfg", "-k", "_l", "--no-location", "-o", str(pot), ".")


def missing_translations(pot: Path, lang: str = "vi") -> list[str]:
    with pot.open("rb") as fh:
        template = read_po(fh)
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    out = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = () if found is None else (found.string if isinstance(found.string, tuple) else (found.string,))
        if not strings or not all(strings) or (found is not None and found.fuzzy):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        extract(pot)
        if "--check" in sys.argv:
            missing = missing_translations(pot)
            if missing:
                print("messages without a Vietnamese translation:", *missing, sep="\n  ")
                return 1
            return 0
        for lang in ("vi", "en"):
            if (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").exists():
                pybabel("update", "-i", str(pot), "-d", str(TRANSLATIONS), "-l", lang, "--no-fuzzy-matching")
            else:
                pybabel("init", "-i", str(pot), "-d", str(TRANSLATIONS), "-l", lang)
        pybabel("compile", "-d", str(TRANSLATIONS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
