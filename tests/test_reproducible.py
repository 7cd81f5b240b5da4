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


@pytest.mark.parametrize("value", ["9999999999", "4354819200", "9" * 5000])
def test_epoch_after_the_last_zip_date_is_input_error(monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        zip_time()


@pytest.mark.parametrize("value", ["²", "١٢٣", "-1", "+5", "1e9", "12 34", "0x10", "1663113600.5"])
def test_garbage_epochs_are_input_errors(monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(InputError, match="digits 0-9 only"):
        build_time()


def test_the_last_zip_date_is_accepted(monkeypatch):
    from kzreport.reproducible import MAX_EPOCH

    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(MAX_EPOCH))
    assert zip_time() == (2107, 12, 31, 23, 59, 59)


@pytest.mark.parametrize("value", ["9999999999", "²"])
def test_a_bad_epoch_is_an_option_error_on_the_command_line(monkeypatch, cli, minimal_source, tmp_path, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    status, _, err = cli("build", minimal_source, "--format", "pptx", "--out", tmp_path / "out", "-q")
    assert status == 2 and "SOURCE_DATE_EPOCH" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
