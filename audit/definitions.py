"""The report's definitions: what counts as regular use and which days are working days, as the installation
configures them (regular days, holidays, time zone), and how a month's report sees the tree of units and compares
with earlier months across a reorganisation. Every snapshot stores them; every export prints them.

Shared by the console, the API, the CLI and the scheduled report job, so none rebuilds them from settings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from audit.months import month_bounds
from config import Settings, parse_holidays
from meetings.availability import working_days

# Which tree a month's report shows, and what "the month before" of a unit means when units merged or split.
# The comparison is people-based: the earlier figures of the mailboxes that are in the unit in the report's
# month. For a merger that is the sum of the predecessors (everyone moved); for a unit that received part of a
# split district it is the part that came, not the whole district (which would count the district once per
# successor). (audit.report_history places the mailboxes; audit.report compares.)
TREE_VI = (
    "Báo cáo dùng cây đơn vị của tháng báo cáo: các đơn vị như vào ngày cuối tháng (tên, đơn vị cấp trên, đơn vị "
    "nào còn tồn tại); mỗi hộp thư được tính vào đơn vị mà người dùng thuộc về trong tháng đó. Đơn vị nay không còn "
    "được ghi chú (đã sáp nhập, chia tách hoặc giải thể)."
)
TREE_EN = (
    "The report uses the tree of units of its month: the units as they were on the month's last day (names, "
    "parents, which units existed); each mailbox is counted in the unit its holder was in during that month. A "
    "unit that no longer exists is marked (merged, split or dissolved)."
)
COMPARISON_VI = (
    "Thay đổi so với tháng trước và xu hướng 12 tháng so sánh trên cùng những người: số liệu của một đơn vị ở một "
    "tháng trước là số liệu của tháng đó của các hộp thư thuộc đơn vị (gồm đơn vị trực thuộc) trong tháng báo cáo. "
    "Vì vậy đơn vị hình thành do sáp nhập được so sánh với tổng các đơn vị tiền thân; đơn vị nhận một phần nhân sự "
    "của đơn vị bị chia tách được so sánh với chính những người đã chuyển về, không phải với cả đơn vị cũ. Hộp thư "
    "còn thuộc một đơn vị đã kết thúc được tính vào đơn vị kế thừa nếu chỉ có một, nếu không thì vào đơn vị cấp trên."
)
COMPARISON_EN = (
    "The change against the previous month and the 12-month trend compare the same people: a unit's figure in an "
    "earlier month is that month's figure of the mailboxes that are in the unit (its subunits included) in the "
    "report's month. A unit formed by a merger therefore compares with the sum of its predecessors, and a unit that "
    "received part of a split unit's staff compares with the people who came to it, not with the whole former unit. "
    "A mailbox still in a unit that has ended counts in its successor when there is only one, otherwise in the unit "
    "above."
)
# The Vietnamese two are printed with the other notes by the PDF and every export (audit.document); the
# spreadsheets add the English two from the snapshot.


@dataclass(frozen=True)
class Definitions:
    regular_days: int
    holidays: frozenset[dt.date]
    tz: dt.tzinfo

    def as_dict(self, month: str) -> dict[str, Any]:
        first, last = month_bounds(month)
        return {
            "counted": "Hộp thư cá nhân được kích hoạt vào bất kỳ thời điểm nào trong tháng "
            "(hộp thư chức năng, dịch vụ và thử nghiệm được liệt kê riêng).",
            "active": "Có ít nhất một lần truy cập thành công trong tháng (đăng nhập IMAP/POP3, webmail, "
            "hoặc gửi thư có xác thực SMTP). Thư chỉ được nhận vào hộp thư không tính là sử dụng.",
            "regular": f"Hoạt động trong ít nhất {self.regular_days} ngày làm việc khác nhau của tháng "
            "(không tính thứ Bảy, Chủ nhật và ngày nghỉ lễ).",
            "engaged": "Đã gửi ít nhất một thư trong tháng.",
            "tree": TREE_VI,
            "tree_en": TREE_EN,
            "comparison": COMPARISON_VI,
            "comparison_en": COMPARISON_EN,
            "regular_days": self.regular_days,
            "working_days": [d.isoformat() for d in working_days(first, last, self.holidays)],
            "holidays": sorted(d.isoformat() for d in self.holidays if first <= d <= last),
        }


def definitions_from(settings: Settings) -> Definitions:
    """What counts as regular use, and which days are working days, as configured."""
    return Definitions(settings.usage_regular_days, parse_holidays(settings.public_holidays), settings.tz)
