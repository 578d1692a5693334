"""A realistic month of mail-server logs for N mailboxes (the generator lives in demo/maillogs.py, which the
demo uses too).

    .venv/bin/python bench/mail_logs.py --mailboxes 30000 --month 2026-10 --out DIR [--seed 1]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.maillines import DOMAIN, HOST, WEBMAIL_IP  # noqa: F401  (re-exported for the benchmarks and tests)
from demo.maillogs import draw_profiles, main, synthetic_addresses, write_month  # noqa: F401

if __name__ == "__main__":
    raise SystemExit(main())
