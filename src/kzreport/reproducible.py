"""The build's timestamp: ``SOURCE_DATE_EPOCH`` when set, so that the same source gives the same bytes."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from .errors import InputError

# The last moment a zip member (the deck is a zip) can carry: DOS dates end with the year 2107.
LAST_ZIP_TIME = datetime(2107, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
MAX_EPOCH = int(LAST_ZIP_TIME.timestamp())
_DIGITS = re.compile("[0-9]{1,11}")  # ASCII only: str.isdigit() also accepts "²" and "١٢٣"


def source_date_epoch() -> int | None:
    """Return ``SOURCE_DATE_EPOCH`` as an integer, or None when it is not set.

    Raises InputError (exit 2) for anything but ASCII digits and for a time after 2107-12-31,
    which no zip file can hold.
    """
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    shown = value if len(value) <= 40 else value[:40] + "…"
    if not _DIGITS.fullmatch(value):
        raise InputError(f"SOURCE_DATE_EPOCH={shown!r}: must be a whole number of seconds since 1970-01-01 "
                         "(digits 0-9 only), as 'date +%s' prints it")
    epoch = int(value)
    if epoch > MAX_EPOCH:
        raise InputError(f"SOURCE_DATE_EPOCH={value}: lies after {LAST_ZIP_TIME:%Y-%m-%d}, the last date a zip file "
                         f"(the deck) can hold; use at most {MAX_EPOCH}")
    return epoch


def build_time() -> datetime:
    """Return the time to stamp into outputs: SOURCE_DATE_EPOCH if set, else now (UTC, whole seconds)."""
    epoch = source_date_epoch()
    moment = datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else datetime.now(timezone.utc)
    return moment.replace(microsecond=0)


def zip_time() -> tuple[int, int, int, int, int, int]:
    """Return the date_time for zip members (zip cannot hold dates before 1980)."""
    moment = max(build_time(), datetime(1980, 1, 1, tzinfo=timezone.utc))
    return moment.timetuple()[:6]
