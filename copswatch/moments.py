"""Moments on the command line: ISO 8601 dates or datetimes, with or without a zone (naive = UTC).

A date alone stands for a whole day (UTC): its start for ``--since``, its end for ``--at``,
``--until`` and `diff`, so "on 1 March" includes captures made during 1 March.
"""

import re
from datetime import UTC, date, datetime, time, timedelta

import click

_VERSION_ID = re.compile(r"\d+")


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An aware UTC datetime; ValueError with a readable message when ``text`` is not ISO 8601."""
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None and len(value) <= 10:
        start = datetime.combine(day, time(), UTC)
        return start + timedelta(days=1, milliseconds=-1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or datetime (e.g. 2025-03-01 or 2025-03-01T12:00Z)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Moment(click.ParamType):
    name = "DATETIME"

    def __init__(self, *, end_of_day: bool = False):
        self.end_of_day = end_of_day

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            return parse_moment(value, end_of_day=self.end_of_day)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class VersionOrMoment(Moment):
    """A version id (digits) or a moment, which resolves to the version current then."""

    name = "VERSION|DATETIME"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or _VERSION_ID.fullmatch(str(value).strip()):
            return int(value)
        return super().convert(value, param, ctx)
