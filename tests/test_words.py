"""One English word, two Vietnamese meanings: a meeting's title is "Tiêu đề", a person's title "Chức vụ"."""

import re
from typing import Any


def test_a_meeting_title_is_never_called_a_job_title(client_as: Any) -> None:
    client = client_as("secretary")
    form = client.get("/meetings/new").get_data(as_text=True)
    label = re.search(r'<label for="title">([^<]+)</label>', form)
    assert label is not None
    assert label.group(1) == "Tiêu đề"
    board = client.get("/meetings").get_data(as_text=True)
    assert "Chức vụ" not in board
    assert "Tiêu đề" in board


def test_a_persons_title_stays_chuc_vu(client_as: Any) -> None:
    client = client_as("unit_admin")
    page = client.get("/staff").get_data(as_text=True)
    assert "Chức vụ" in page


def test_domain_errors_are_vietnamese_in_the_console(client_as: Any, create_point: Any, create_staff: Any) -> None:
    from tests.conftest import csrf_token

    secretary = client_as("secretary")
    host = create_point()
    token = csrf_token(secretary, "/meetings/new")
    form = {"csrf_token": token, "title": "  ", "date": "2027-03-01", "start": "09:00", "end": "08:00"}
    page = secretary.post("/meetings/new", data=form | {"host_point_id": host.id}).get_data(as_text=True)
    assert "Tiêu đề: không được để trống" in page
    admin = client_as("system_admin")
    person = create_staff()
    token = csrf_token(admin, f"/staff/{person.id}")
    page = admin.post(f"/staff/{person.id}/action", data={"csrf_token": token, "verb": "quota", "quota_mb": "0"})
    alert = re.search(r'role="alert">([^<]*)<', page.get_data(as_text=True))
    assert alert is not None
    assert re.fullmatch(r"Dung lượng( 0)?: trong khoảng 1 đến [\d.]+( MB)?", alert.group(1)), alert.group(1)


def test_a_domain_error_is_vietnamese_whole_or_left_english_never_half() -> None:
    from admin_app.error_words import in_vietnamese

    assert in_vietnamese("no unit has the code H-KBANG") == "Không có đơn vị nào mang mã H-KBANG"
    assert in_vietnamese("invitees: 'an@' is not an email address") == (
        "Người được mời: 'an@' không phải là địa chỉ thư điện tử"
    )
    # A sentence with no Vietnamese here stays as the verb wrote it, rather than half translated.
    assert (
        in_vietnamese("unit H-A is changed twice: merge and dissolve")
        == "unit H-A is changed twice: merge and dissolve"
    )
