"""Fill Vietnamese translations from a Python dict file (msgid → msgstr) into the vi catalog, then compile.

python scripts/fill_vi.py translations.py
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "admin_app" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    table = runpy.run_path(sys.argv[1])["VI"]
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    for message in catalog:
        if message.id and not isinstance(message.id, tuple) and not message.string and message.id in table:
            message.string = table[message.id]
    with PO.open("wb") as fh:
        write_po(fh, catalog)
    subprocess.run([sys.executable, str(Path(__file__).with_name("i18n.py"))], check=True)


if __name__ == "__main__":
    main()
