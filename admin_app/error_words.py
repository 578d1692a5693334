"""Domain errors in the console's language.

The verbs raise errors in English that name the field or object and carry the values the user gave
("title: must not be empty", "quota 0: between 1 and 1048576 MB"); the API and the CLI show them as they are.
The console shows them in Vietnamese: the field names and the phrases of the problem are translated piece by
piece, the values (addresses, names, codes, numbers) are kept as written. A phrase not listed stays English.
"""

from __future__ import annotations

import re

from flask_babel import get_locale

from meetings.errors import MeetingConflict

# Longest first where one phrase contains another; each applies once per message, left to right.
PHRASES: tuple[tuple[str, str], ...] = (
    # problems
    ("must not be empty", "không được để trống"),
    ("must be after the start", "phải sau giờ bắt đầu"),
    ("a local time with its zone is required", "cần giờ địa phương kèm múi giờ"),
    ("is not an email address", "không phải là địa chỉ thư điện tử"),
    ("is not a whole number", "không phải là số nguyên"),
    ("a whole number is required", "cần một số nguyên"),
    ("is not a time (HH:MM)", "không phải là giờ (HH:MM)"),
    ("is not a date (dd/mm/yyyy)", "không phải là ngày (dd/mm/yyyy)"),
    ("the address is already in use", "địa chỉ này đã được dùng"),
    ("is already in use", "đã được dùng"),
    ("is taken", "đã có người dùng"),
    ("belongs to someone else", "thuộc về người khác"),
    ("already belongs to someone else", "đã thuộc về người khác"),
    ("is reserved; only a system admin may use it", "là tên dành riêng; chỉ quản trị viên hệ thống được dùng"),
    ("it is the contact mailbox of another unit's bridge point", "đó là hộp thư đầu mối điểm cầu của đơn vị khác"),
    ("is not one of the province's mail domains", "không phải là tên miền thư của tỉnh"),
    ("is not a mail domain of a unit you administer", "không phải là tên miền thư của đơn vị bạn quản trị"),
    ("give a domain name such as 'gialai.gov.vn'", "hãy nhập tên miền, ví dụ 'gialai.gov.vn'"),
    ("enable it first", "hãy mở lại trước"),
    ("is archived", "đã lưu trữ"),
    ("is already archived", "đã được lưu trữ"),
    ("is already active", "đang hoạt động"),
    ("it cannot be disabled", "không thể khóa"),
    ("has no alias", "không có bí danh"),
    ("already holds", "đã giữ vai trò"),
    ("does not hold", "không giữ vai trò"),
    (
        "still has mailboxes or subunits; move them first",
        "vẫn còn hộp thư hoặc đơn vị trực thuộc; hãy chuyển chúng đi trước",
    ),
    ("cannot move under itself or its own subunit", "không thể chuyển vào chính nó hoặc đơn vị trực thuộc của nó"),
    ("cannot merge into its own subunit", "không thể sáp nhập vào đơn vị trực thuộc của nó"),
    ("has ended already", "đã chấm dứt hoạt động"),
    ("has ended; choose another parent", "đã chấm dứt hoạt động; hãy chọn đơn vị cấp trên khác"),
    ("already uses", "đã dùng"),
    ("must be one of", "phải là một trong"),
    ("must be between", "phải trong khoảng"),
    ("between", "trong khoảng"),
    ("got", "đang có"),
    ("use 1–40 letters A–Z, digits or '-'", "dùng 1–40 chữ cái A–Z, chữ số hoặc '-'"),
    ("at most", "tối đa"),
    ("characters", "ký tự"),
    ("minutes", "phút"),
    ("hours", "giờ"),
    ("not in service (inactive)", "không còn hoạt động"),
    ("no bridge point with id", "không có điểm cầu mã"),
    ("the province root cannot be moved", "không thể chuyển đơn vị gốc của tỉnh"),
    ("the province root cannot be merged into another unit", "không thể sáp nhập đơn vị gốc của tỉnh"),
    ("the province root cannot be dissolved", "không thể giải thể đơn vị gốc của tỉnh"),
    ("say why the mailboxes are disabled", "hãy ghi lý do khóa hộp thư"),
    ("choose where the mailboxes move", "hãy chọn đơn vị chuyển đến"),
    ("choose at least one mailbox", "hãy chọn ít nhất một hộp thư"),
    (
        "nothing to change: every chosen mailbox is already so or outside your scope",
        "không có gì để thay đổi: mọi hộp thư đã chọn đã như vậy hoặc ngoài phạm vi của bạn",
    ),
    ("search at most two months at a time", "mỗi lần tìm tối đa hai tháng"),
    ("the file is empty", "tệp trống"),
    ("use a .csv or .xlsx file", "hãy dùng tệp .csv hoặc .xlsx"),
    ("larger than", "lớn hơn"),
    ("password: at least", "mật khẩu: ít nhất"),
    (
        "use at least three of lower case, upper case, digits and symbols",
        "dùng ít nhất ba trong bốn loại: chữ thường, chữ hoa, chữ số và ký hiệu",
    ),
    ("must not contain the name or address part", "không được chứa phần tên hoặc địa chỉ"),
    # fields and objects, at the start of a message or after "; "
    ("full name", "họ và tên"),
    ("title", "tiêu đề"),
    ("start", "giờ bắt đầu"),
    ("end", "giờ kết thúc"),
    ("set-up buffer", "thời gian chuẩn bị"),
    ("points", "điểm cầu"),
    ("host point", "điểm cầu chủ trì"),
    ("invited people", "người được mời"),
    ("invitees", "người được mời"),
    ("organiser", "người tổ chức"),
    ("quota of", "dung lượng của"),
    ("quota", "dung lượng"),
    ("alias", "bí danh"),
    ("unit code", "mã đơn vị"),
    ("unit kind", "loại đơn vị"),
    ("unit name", "tên đơn vị"),
    ("unit", "đơn vị"),
    ("staff number", "mã nhân sự"),
    ("mail domain", "tên miền thư"),
    ("reason", "lý do"),
    ("role", "vai trò"),
    ("phone", "điện thoại"),
)
_PATTERN = re.compile(
    "|".join(rf"(?<![\w@.]){re.escape(en)}(?![\w@])" for en, _ in sorted(PHRASES, key=lambda p: -len(p[0])))
)
_VI = dict(PHRASES)
# Whole sentences (the reorganisation's and the import's row errors), tried first.
SENTENCES: tuple[tuple[str, str], ...] = (
    (r"no unit has the code (\S+)", r"không có đơn vị nào mang mã \1"),
    (r"code (\S+) is already used by a unit", r"mã \1 đã được một đơn vị dùng"),
    (r"code (\S+) is given twice in this plan", r"mã \1 xuất hiện hai lần trong kế hoạch"),
    (r"unit (\S+) has ended \(([^)]+)\)", r"đơn vị \1 đã chấm dứt hoạt động (\2)"),
    (r"unit (\S+) is renamed differently by row (\d+)", r"đơn vị \1 được đổi tên khác ở dòng \2"),
    (r"unit (\S+) is moved elsewhere by row (\d+)", r"đơn vị \1 được chuyển đi nơi khác ở dòng \2"),
    (r"unit (\S+) is merged elsewhere by row (\d+)", r"đơn vị \1 được sáp nhập vào nơi khác ở dòng \2"),
    (r"unit (\S+) is given another domain by row (\d+)", r"đơn vị \1 được đổi sang tên miền khác ở dòng \2"),
    (r"unit (\S+) is both merged and dissolved \(row (\d+)\)", r"đơn vị \1 vừa bị sáp nhập vừa bị giải thể (dòng \2)"),
    (r"unit (\S+) cannot be its own parent", r"đơn vị \1 không thể là cấp trên của chính nó"),
    (r"unit (\S+) cannot merge into itself", r"đơn vị \1 không thể sáp nhập vào chính nó"),
    (r"unit (\S+) is merged or dissolved by this plan", r"đơn vị \1 bị sáp nhập hoặc giải thể trong kế hoạch này"),
    (r"no mailbox has the staff number (\S+)", r"không có hộp thư nào mang mã nhân sự \1"),
    (r"(\S+) is placed twice \(row (\d+)\)", r"\1 được xếp hai lần (dòng \2)"),
    (r"(\S+) is in a unit that has ended", r"\1 thuộc một đơn vị đã chấm dứt hoạt động"),
    (r"(\S+) already belongs to another mailbox; numbered (\S+)", r"\1 đã thuộc về hộp thư khác; đánh số thành \2"),
    (
        r"('.*') is not an action; use .*",
        r"\1 không phải là thao tác; dùng tạo mới, đổi tên, chuyển, sáp nhập, giải thể hoặc đổi tên miền",
    ),
    (
        r"('.*') is not a unit kind; use .*",
        r"\1 không phải là loại đơn vị; dùng tỉnh, văn phòng, sở, huyện, xã hoặc phường",
    ),
    (r"('.*') is not a date \(dd/mm/yyyy\)", r"\1 không phải là ngày (dd/mm/yyyy)"),
    (r"unknown column; the columns are: (.*)", r"cột không rõ; các cột là: \1"),
)
_SENTENCES = [(re.compile(rf"^{en}$", re.S), vi) for en, vi in SENTENCES]
# English words that mean a message was only partly translated: then it is shown whole in English instead.
_LEFT_OVER = re.compile(
    r"\b(the|has|have|is|are|no|not|of|to|with|by|be|cannot|must|already|choose|give|only|first|use)\b"
)
_BETWEEN = re.compile(r"\b(must be )?between (\S+) and (\S+)")


def _outside_quotes(message: str) -> list[tuple[bool, str]]:
    """Split into (is_literal, text): quoted values ('…', "…", “…”) and addresses are never translated."""
    parts: list[tuple[bool, str]] = []
    for piece in re.split(r"('[^']*'|\"[^\"]*\"|“[^”]*”|\S+@\S+)", message):
        if piece:
            parts.append((bool(re.fullmatch(r"'[^']*'|\"[^\"]*\"|“[^”]*”|\S+@\S+", piece)), piece))
    return parts


def in_vietnamese(message: str) -> str:
    """The message in Vietnamese, or as it was if some of it has no Vietnamese here (never half and half)."""
    for pattern, vi in _SENTENCES:
        if pattern.match(message):
            translated = pattern.sub(vi, message)
            return translated[:1].upper() + translated[1:]
    out = []
    for literal, text in _outside_quotes(message):
        if not literal:
            text = _BETWEEN.sub(r"trong khoảng \2 đến \3", text)
            text = _PATTERN.sub(lambda m: _VI[m.group(0)], text)
        out.append(text)
    translated = "".join(out)
    bare = "".join(text for literal, text in _outside_quotes(translated) if not literal)
    if _LEFT_OVER.search(bare):
        return message
    return translated[:1].upper() + translated[1:]


def conflict_in_vietnamese(exc: MeetingConflict) -> str:
    """The busy points of a refused booking or change, each with the meeting holding it (names kept as written)."""
    parts = [
        f"{c.point_name} đã có lịch họp “{c.meeting_title}” "
        f"({c.starts_at.astimezone(exc.tz):%d/%m/%Y %H:%M}–{c.ends_at.astimezone(exc.tz):%H:%M})"
        for c in exc.conflicts
    ]
    return "Điểm cầu đang bận: " + "; ".join(parts)


def domain_message(exc: BaseException | str) -> str:
    """The error as the console shows it: Vietnamese when the page is."""
    message = str(exc)
    locale = get_locale()
    if locale is None or locale.language != "vi":
        return message
    return conflict_in_vietnamese(exc) if isinstance(exc, MeetingConflict) else in_vietnamese(message)
