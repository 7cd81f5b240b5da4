"""The build's timestamp: ``SOURCE_DATE_EPOCH`` when set, so that the same source gives the same bytes."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from .errors import InputError


def source_date_epoch() -> int | None:
    """Return ``SOURCE_DATE_EPOCH`` as an integer, or None when it is not set."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InputError(f"SOURCE_DATE_EPOCH={value!r}: must be a whole number of seconds since 1970-01-01")
    return int(value)


def build_time() -> datetime:
    """Return the time to stamp into outputs: SOURCE_DATE_EPOCH if set, else now (UTC, whole seconds)."""
    epoch = source_date_epoch()
    moment = datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else datetime.now(timezone.utc)
    return moment.replace(microsecond=0)


def zip_time() -> tuple[int, int, int, int, int, int]:
    """Return the date_time for zip members (zip cannot hold dates before 1980)."""
    moment = max(build_time(), datetime(1980, 1, 1, tzinfo=timezone.utc))
    return moment.timetuple()[:6]
