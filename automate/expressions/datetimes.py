"""ISO 8601 timestamps in, .NET date and time format strings out, as Power Automate does.

A timestamp with a zone ('Z', '+02:00') is converted to UTC and printed with 'Z'; one without
(like '2026-11-26') stays unspecified and is printed without a zone, as .NET does.
"""

import datetime as dt
import re

_TIMESTAMP = re.compile(
    r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?"
    r"\s*([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?\s*",
    re.ASCII,
)

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Standard formats of the invariant culture ('o', 's', 'u', 'r') and of en-US (the rest).
STANDARD_FORMATS = {
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "d": "M/d/yyyy",
    "D": "dddd, MMMM d, yyyy",
    "f": "dddd, MMMM d, yyyy h:mm tt",
    "F": "dddd, MMMM d, yyyy h:mm:ss tt",
    "U": "dddd, MMMM d, yyyy h:mm:ss tt",
    "g": "M/d/yyyy h:mm tt",
    "G": "M/d/yyyy h:mm:ss tt",
    "m": "MMMM d",
    "M": "MMMM d",
    "t": "h:mm tt",
    "T": "h:mm:ss tt",
    "y": "MMMM yyyy",
    "Y": "MMMM yyyy",
}
DEFAULT_FORMAT = "o"
MAX_TIMESTAMP_LENGTH = 64
MAX_FORMAT_LENGTH = 1_000


class DateFormatError(ValueError):
    pass


def parse_timestamp(value: object) -> dt.datetime:
    """A datetime from ISO 8601 text; aware (in UTC) if the text names a zone, else naive."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise DateFormatError("is not a timestamp")
    match = _TIMESTAMP.fullmatch(value) if len(value) <= MAX_TIMESTAMP_LENGTH else None
    if match is None:
        raise DateFormatError("is not an ISO 8601 timestamp like '2026-11-26T10:21:13Z'")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
        if zone is None:
            return moment
        return moment.replace(tzinfo=_zone(zone)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise DateFormatError("is not a valid date and time") from None


def _zone(text: str) -> dt.tzinfo:
    if text in ("Z", "z"):
        return dt.UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError("offset out of range")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-offset if text[0] == "-" else offset)


def format_timestamp(moment: dt.datetime, pattern: str | None = None) -> str:
    """``moment`` printed with a .NET standard ('o', 'd', ...) or custom ('dd/MM/yyyy') format."""
    if pattern is None or pattern == "":
        pattern = DEFAULT_FORMAT
    if len(pattern) > MAX_FORMAT_LENGTH:
        raise DateFormatError(f"is longer than {MAX_FORMAT_LENGTH:,} characters")
    if len(pattern) == 1:
        if pattern not in STANDARD_FORMATS:
            raise DateFormatError(f"'{pattern}' is not a standard date format")
        pattern = STANDARD_FORMATS[pattern]
    return _Formatter(moment, pattern).format()


class _Formatter:
    def __init__(self, moment: dt.datetime, pattern: str) -> None:
        self.moment = moment
        self.pattern = pattern
        self.out: list[str] = []

    def format(self) -> str:
        pattern = self.pattern
        i = 0
        while i < len(pattern):
            char = pattern[i]
            if char in "'\"":
                end = pattern.find(char, i + 1)
                if end < 0:
                    raise DateFormatError(f"has an unclosed quote at position {i}")
                self.out.append(pattern[i + 1 : end])
                i = end + 1
            elif char == "\\":
                if i + 1 >= len(pattern):
                    raise DateFormatError("ends with a lone backslash")
                self.out.append(pattern[i + 1])
                i += 2
            elif char == "%":
                # '%d' is the custom specifier 'd' on its own (a lone 'd' is the standard one).
                if i + 1 >= len(pattern) or pattern[i + 1] == "%":
                    raise DateFormatError("has a '%' that is not followed by a specifier")
                i += 1
            else:
                run = 1
                while i + run < len(pattern) and pattern[i + run] == char:
                    run += 1
                self._specifier(char, run)
                i += run
        return "".join(self.out)

    def _specifier(self, char: str, run: int) -> None:
        moment = self.moment
        write = self.out.append
        if char == "y":
            write(_numeric(moment.year % 100, run) if run <= 2 else str(moment.year).zfill(run))
        elif char == "M":
            write(_numeric(moment.month, run) if run <= 2 else _name(MONTHS[moment.month - 1], run))
        elif char == "d":
            write(_numeric(moment.day, run) if run <= 2 else _name(DAYS[moment.weekday()], run))
        elif char == "H":
            write(_numeric(moment.hour, run))
        elif char == "h":
            write(_numeric(moment.hour % 12 or 12, run))
        elif char == "m":
            write(_numeric(moment.minute, run))
        elif char == "s":
            write(_numeric(moment.second, run))
        elif char in "fF":
            self._fraction(char, run)
        elif char == "t":
            marker = "AM" if moment.hour < 12 else "PM"
            write(marker[:1] if run == 1 else marker)
        elif char == "K":
            write("Z" * run if moment.tzinfo else "")
        elif char == "z":
            write({1: "+0", 2: "+00"}.get(run, "+00:00"))
        elif char == "g":
            write("A.D.")
        else:
            write(char * run)

    def _fraction(self, char: str, run: int) -> None:
        if run > 7:
            raise DateFormatError(f"uses more than seven '{char}' in a row")
        # .NET keeps ticks of 100 ns: seven digits, the last always 0 here.
        digits = f"{self.moment.microsecond:06d}0"[:run]
        if char == "F":
            digits = digits.rstrip("0")
            if not digits and self.out and self.out[-1].endswith("."):
                # .NET drops the decimal point before an empty 'F' fraction.
                self.out[-1] = self.out[-1][:-1]
        self.out.append(digits)


def _numeric(value: int, run: int) -> str:
    return str(value) if run == 1 else str(value).zfill(2)


def _name(name: str, run: int) -> str:
    return name[:3] if run == 3 else name
