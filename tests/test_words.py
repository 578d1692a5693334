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
