"""The sandbox clock and the org-local time formatting shared by every module."""
from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import time
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
_TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2})(\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Clock:
    """Real time plus an offset that tests move forward with :meth:`advance`.

    Token expiry, rate-limit windows, the daily budget and ``last_modified_time`` bumps all read this
    clock, so a test can expire tokens or reset the per-minute window without sleeping.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        return time.time() + self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += float(seconds)
        return self.time()


class TimeFormatter:
    """Epoch seconds <-> Zoho's ``YYYY-MM-DDTHH:MM:SS+HHMM`` in one organisation's time zone.

    UTC offsets are cached per UTC hour (every zone the sandbox uses changes offset on a whole hour),
    and the ``YYYY-MM-DDTHH:`` prefix per local hour, which makes formatting a page of records cheap.
    """

    def __init__(self, time_zone: str) -> None:
        self.tz = ZoneInfo(time_zone)
        self._offsets: dict[int, tuple[int, str]] = {}
        self._prefixes: dict[int, str] = {}

    def _offset(self, ts: int) -> tuple[int, str]:
        hour = ts // 3600
        got = self._offsets.get(hour)
        if got is None:
            off = int(dt.datetime.fromtimestamp(hour * 3600, self.tz).utcoffset().total_seconds())
            h, m = divmod(abs(off) // 60, 60)
            got = (off, "%s%02d%02d" % ("+" if off >= 0 else "-", h, m))
            if len(self._offsets) > 100_000:
                self._offsets.clear()
            self._offsets[hour] = got
        return got

    def offset(self, ts: int) -> int:
        return self._offset(ts)[0]

    def format(self, ts: int) -> str:
        off, suffix = self._offset(ts)
        local = ts + off
        hour = local // 3600
        prefix = self._prefixes.get(hour)
        if prefix is None:
            t = time.gmtime(hour * 3600)
            prefix = "%04d-%02d-%02dT%02d:" % (t[0], t[1], t[2], t[3])
            if len(self._prefixes) > 100_000:
                self._prefixes.clear()
            self._prefixes[hour] = prefix
        m, s = divmod(local - hour * 3600, 60)
        return "%s%02d:%02d%s" % (prefix, m, s, suffix)

    def local_ordinal(self, ts: int) -> int:
        """The org-local calendar date of an instant, as a proleptic ordinal."""
        return (ts + self._offset(ts)[0]) // 86400 + _EPOCH_ORDINAL

    def local_to_epoch(self, ordinal: int, seconds_of_day: int) -> int:
        guess = (ordinal - _EPOCH_ORDINAL) * 86400 + seconds_of_day
        return guess - self.offset(guess - self.offset(guess))

    def seconds_to_local_midnight(self, ts: float) -> int:
        day = self.local_ordinal(int(ts))
        return max(1, int(self.local_to_epoch(day + 1, 0) - ts))


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def parse_timestamp(value: str) -> int | None:
    """Strict Zoho timestamp (``2024-01-15T10:20:31+0530``) to epoch seconds; None if malformed."""
    m = _TS_RE.match(value)
    if not m:
        return None
    y, mo, d, hh, mi, ss, sign, oh, om = m.groups()
    try:
        local = dt.datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    off = (int(oh) * 60 + int(om)) * 60 * (1 if sign == "+" else -1)
    return int(local.timestamp()) - off


def parse_date(value: str) -> int | None:
    """``yyyy-mm-dd`` to a date ordinal; None if malformed."""
    if not _DATE_RE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value).toordinal()
    except ValueError:
        return None


@functools.lru_cache(maxsize=8192)
def format_date(ordinal: int) -> str:
    return dt.date.fromordinal(ordinal).isoformat()
