from datetime import datetime, timezone

import pytest

from kzreport.errors import InputError
from kzreport.reproducible import build_time, zip_time


def test_source_date_epoch_fixes_the_time(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1663113600")
    assert build_time() == datetime(2022, 9, 14, tzinfo=timezone.utc)
    assert zip_time() == (2022, 9, 14, 0, 0, 0)


def test_zip_time_is_never_before_1980(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert zip_time() == (1980, 1, 1, 0, 0, 0)


def test_bad_epoch_is_input_error(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        build_time()
