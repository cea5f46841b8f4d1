"""Local agenda times -> ``datetime`` with the UTC offset that applied in the venue's
time zone on that date, taken from the IANA time zone database (zoneinfo + tzdata)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

VENUE_TZ = "Africa/Tunis"

_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DURATION_RE = re.compile(
    r"^(?P<max>max\.?\s+)?(?P<a>\d+)(?:\s*-\s*(?P<b>\d+))?\s*(?:min|mins|minutes)\.?$"
)


@dataclass(frozen=True)
class StatedDuration:
    """A duration as the agenda states it: exact, a range, or an upper bound."""

    minimum: int | None
    maximum: int | None

    @property
    def exact(self) -> int | None:
        return self.minimum if self.minimum == self.maximum else None


def parse_duration(text: str) -> StatedDuration:
    """``"5-8 min"``, ``"25 min"``, ``"20 minutes"``, ``"max 5 min"`` in minutes."""
    m = _DURATION_RE.match(text.strip())
    if not m:
        raise ValueError(f"duration {text!r} is not like '25 min', '5-8 min' or 'max 5 min'")
    a, b = int(m.group("a")), int(m.group("b") or m.group("a"))
    if b < a:
        raise ValueError(f"duration {text!r} runs backwards")
    if m.group("max"):
        return StatedDuration(None, a)
    return StatedDuration(a, b)




def parse_time(text: str) -> time:
    """``"09:30"`` -> ``time(9, 30)``; ValueError names the form expected."""
    m = _TIME_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"time {text!r} must be 24-hour HH:MM, e.g. \"09:30\"")
    return time(int(m.group(1)), int(m.group(2)))


def localize(day: date, at: time, tz_name: str = VENUE_TZ) -> datetime:
    """The aware datetime of a wall-clock time, refusing times that a clock change makes
    ambiguous (they happen twice) or impossible (they never happen)."""
    tz = ZoneInfo(tz_name)
    naive = datetime.combine(day, at)
    early = naive.replace(tzinfo=tz, fold=0)
    late = naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        # zoneinfo marks both gaps and folds this way: tell them apart by round trip.
        roundtrip = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if roundtrip != naive:
            raise ValueError(
                f"{day} {at:%H:%M} does not exist in {tz_name} (the clocks skip it); "
                "check the time"
            )
        raise ValueError(
            f"{day} {at:%H:%M} is ambiguous in {tz_name} (the clocks pass it twice); "
            "give a time outside the change of hour"
        )
    return early


def fixed_offset(dt: datetime) -> datetime:
    """The same instant with a fixed-offset tzinfo, so it serialises as ``+02:00``."""
    offset = dt.utcoffset() or timedelta(0)
    return dt.astimezone(timezone(offset))
