"""Slot values a program can use: dates, times and numbers read from the text as typed.

A slot's *kind* says how to read its value. It comes from the slot's name, the part after
the last dot (ATIS: ``arrive_date.day_number`` is a ``day_number``; SNIPS:
``party_size_number``), or from a mapping (``--value-types``) for other datasets:

========================  ====================================================  ==============
kind                      reads                                                 gives
========================  ====================================================  ==============
``day_number``            ``2nd``, ``second``, ``twenty first``, ``21``          ``2``, ``21``
``month``                 ``November``, ``nov``, ``Dec.``, ``11``                ``11``, ``12``
``weekday``               ``monday``, ``Tue``, ``saturdays``                     ``1`` … ``7`` (ISO)
``time``                  ``5 pm``, ``5pm``, ``1730``, ``10:30 am``, ``noon``    ``"17:00"``
``period``                ``morning``, ``evening``, ``night`` …                  start and end
``relative_date``         ``today``, ``tomorrow``, ``next monday``               ISO date
``year``                  ``1991``, ``nineteen ninety one``                      ``1991``
``number``                ``two``, ``1,200``, ``twenty five``                    ``2``, ``1200``
``amount``                ``$300``, ``300 dollars``, ``1,200``                   ``300``
``round_trip``            ``round trip``, ``roundtrip``, ``one way``             ``"round trip"``
``class``                 ``first class``, ``coach``, ``business``               ``"economy"`` …
``time_range``            SNIPS' ``timeRange``: a relative date, else a time     ISO date / time
========================  ====================================================  ==============

Relative dates count from a reference date (``today``; default the current date). A
value that cannot be read gives ``None``, never an exception.

Per utterance, :func:`combine` joins the parts that belong together: a month and a day (and
a year) of the same role (``depart``, ``arrive``, ``return``; the prefix of the slot name)
give one date, the next such date on or after the reference unless a year is given; a
weekday alone gives the next such day; a relative date gives its date. Times are keyed by
role the same way.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

KINDS = ("day_number", "month", "weekday", "time", "period", "relative_date", "year",
         "number", "amount", "round_trip", "class", "time_range")

# Slot-name suffixes (after the last dot, lower-cased) and the kind each reads as.
SUFFIX_KINDS = {
    "day_number": "day_number", "month_name": "month", "month": "month",
    "day_name": "weekday", "time": "time", "start_time": "time", "end_time": "time",
    "period_of_day": "period", "today_relative": "relative_date",
    "date_relative": "relative_date", "year": "year", "fare_amount": "amount",
    "party_size_number": "number", "flight_number": "number", "rating_value": "number",
    "best_rating": "number", "round_trip": "round_trip", "class_type": "class",
    "timerange": "time_range",
}

# When each period of the day starts and ends (documented in README).
PERIODS = {
    "early morning": ("05:00", "08:00"), "morning": ("06:00", "12:00"),
    "late morning": ("10:00", "12:00"), "mid morning": ("09:00", "11:00"),
    "midday": ("11:00", "13:00"), "afternoon": ("12:00", "18:00"),
    "early afternoon": ("12:00", "15:00"), "late afternoon": ("15:00", "18:00"),
    "evening": ("18:00", "22:00"), "early evening": ("17:00", "19:00"),
    "late evening": ("20:00", "23:00"), "night": ("20:00", "05:00"),
    "late night": ("22:00", "04:00"), "overnight": ("22:00", "06:00"),
    "daytime": ("06:00", "18:00"),
}

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11,
             "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
             "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
             "twentieth": 20, "thirtieth": 30}
_WORDS = {word: n for n, word in enumerate(_UNITS)} | _TENS | {"a": 1, "an": 1}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_CLASSES = {"first": "first", "business": "business", "coach": "economy",
            "economy": "economy", "thrift": "economy", "premium economy": "premium economy"}


def kind_of(slot: str, value_types: Mapping[str, str] | None = None) -> str | None:
    """The kind a slot's values read as: from ``value_types`` (by the full slot name, then
    its suffix), else from the suffix; None for free text (cities, names)."""
    suffix = slot.rsplit(".", 1)[-1].lower()
    for key in (slot, suffix):
        if value_types and key in value_types:
            return value_types[key]
    return SUFFIX_KINDS.get(suffix)


def normalize(kind: str | None, value: str, today: datetime.date | None = None) -> Any:
    """The value of one slot, read as ``kind``; None when it cannot be read."""
    reader = _READERS.get(kind) if kind else None
    if reader is None:
        return None
    try:
        return reader(_clean(value), today or datetime.date.today())
    except (ValueError, KeyError, IndexError, OverflowError):
        return None


def _clean(value: str) -> str:
    text = value.lower().replace("-", " ").replace("’", "'")
    text = re.sub(r"[^\w$:.,' ]", " ", text)
    return " ".join(text.replace("'s", "").split()).strip(" .,")


def read_number(text: str) -> int | float | None:
    """``2``, ``1,200``, ``two``, ``twenty five``, ``one hundred and five`` → a number."""
    text = text.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text) else text
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d*\.\d+", text):
        return float(text)
    words = [w for w in text.replace(" and ", " ").split()]
    if not words:
        return None
    total, current = 0, 0
    for word in words:
        if word in _WORDS:
            current += _WORDS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        else:
            return None
    return total + current


def _read_ordinal(text: str) -> int | None:
    match = re.fullmatch(r"(\d+)(st|nd|rd|th)?", text.replace("the ", "").strip())
    if match:
        return int(match.group(1))
    words = text.replace("the ", "").split()
    if words and words[-1] in _ORDINALS:
        head = read_number(" ".join(words[:-1])) if len(words) > 1 else 0
        return None if head is None else head + _ORDINALS[words[-1]]
    return None


def _day_number(text: str, today: datetime.date) -> int | None:
    day = _read_ordinal(text)
    return day if day is not None and 1 <= day <= 31 else None


def _month(text: str, today: datetime.date) -> int | None:
    text = text.strip(".")
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 12 else None
    for number, name in enumerate(MONTHS, start=1):
        if len(text) >= 3 and name.startswith(text):
            return number
    return None


def _weekday(text: str, today: datetime.date) -> int | None:
    text = text.strip(".").removesuffix("s") if text not in ("tues", "thurs") else text
    for number, name in enumerate(WEEKDAYS, start=1):
        if len(text) >= 3 and name.startswith(text):
            return number
    return None


def _time(text: str, today: datetime.date) -> str | None:
    """A clock time; a bare hour (``5``, ``five``) is ambiguous and gives None."""
    text = re.sub(r"o'?clock", "", text.replace(".", "")).strip()
    if text in ("noon", "midday", "12 noon"):
        return "12:00"
    if text in ("midnight", "12 midnight"):
        return "00:00"
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*(am|pm|a|p)?", text)  # 10:30, 10:30 am
    if match:
        return _clock(int(match.group(1)), int(match.group(2)), match.group(3))
    match = re.fullmatch(r"(\d{3,4})\s*(am|pm|a|p)?", text)  # 1730, 930 pm
    if match:
        digits = match.group(1)
        return _clock(int(digits[:-2]), int(digits[-2:]), match.group(2))
    match = re.fullmatch(r"(\d{1,2})\s*(am|pm|a|p)", text)  # 5pm, 5 pm
    if match:
        return _clock(int(match.group(1)), 0, match.group(2))
    words = text.split()
    if len(words) < 2 or words[-1] not in ("am", "pm"):
        return None
    hour = read_number(words[0])  # five pm, five thirty pm
    minute = read_number(" ".join(words[1:-1])) if len(words) > 2 else 0
    return None if hour is None or minute is None else _clock(hour, minute, words[-1])


def _clock(hour: int, minute: int, suffix: str | None) -> str | None:
    if suffix and not 1 <= hour <= 12:
        return None  # "13 pm"
    if suffix in ("pm", "p") and hour < 12:
        hour += 12
    elif suffix in ("am", "a") and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return f"{hour:02d}:{minute:02d}"


def _period(text: str, today: datetime.date) -> dict[str, str] | None:
    text = re.sub(r"^(in the|this|the|during the)\s+", "", text)
    span = PERIODS.get(text) or PERIODS.get(text.removesuffix("s"))
    return {"start": span[0], "end": span[1]} if span else None


def _relative_date(text: str, today: datetime.date) -> str | None:
    days = {"today": 0, "tonight": 0, "this evening": 0, "tomorrow": 1, "yesterday": -1,
            "day after tomorrow": 2, "the day after tomorrow": 2}
    if text in days:
        return (today + datetime.timedelta(days=days[text])).isoformat()
    match = re.fullmatch(r"(next|this|coming|this coming)\s+(\w+)", text)
    if match:
        weekday = _weekday(match.group(2), today)
        if weekday is None:
            if match.group(2) == "week" and match.group(1) == "next":
                return (today + datetime.timedelta(days=7)).isoformat()
            return None
        ahead = (weekday - today.isoweekday()) % 7
        if match.group(1) == "next" and ahead == 0:
            ahead = 7
        return (today + datetime.timedelta(days=ahead)).isoformat()
    match = re.fullmatch(r"in (\w+) (day|week)s?", text)
    if match:
        count = read_number(match.group(1))
        if count is None:
            return None
        return (today + datetime.timedelta(days=count * (7 if match.group(2) == "week"
                                                         else 1))).isoformat()
    return None


def _year(text: str, today: datetime.date) -> int | None:
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    words = text.split()
    if len(words) >= 2 and words[0] in ("nineteen", "twenty"):
        century = _WORDS[words[0]] * 100
        rest = read_number(" ".join(words[1:])) if words[1:] != ["hundred"] else 0
        if rest is not None and rest < 100:
            return century + rest
    number = read_number(text)
    return number if isinstance(number, int) and 1000 <= number <= 2999 else None


def _number(text: str, today: datetime.date) -> int | float | None:
    number = read_number(text)
    return number if number is not None else _read_ordinal(text)


def _amount(text: str, today: datetime.date) -> int | float | None:
    text = re.sub(r"\b(us |american )?(dollars?|bucks|usd)\b", "", text).replace("$", "")
    return read_number(text.strip())


def _round_trip(text: str, today: datetime.date) -> str | None:
    squashed = text.replace(" ", "")
    if squashed in ("roundtrip", "return", "roundtrips"):
        return "round trip"
    if squashed in ("oneway", "oneways"):
        return "one way"
    return None


def _class(text: str, today: datetime.date) -> str | None:
    text = re.sub(r"\s*class$", "", text).strip()
    return _CLASSES.get(text)


def _time_range(text: str, today: datetime.date) -> str | None:
    words = re.sub(r"^(at|on|for|by|around)\s+", "", text)
    return _relative_date(words, today) or _time(words, today)


_READERS = {"day_number": _day_number, "month": _month, "weekday": _weekday, "time": _time,
            "period": _period, "relative_date": _relative_date, "year": _year,
            "number": _number, "amount": _amount, "round_trip": _round_trip, "class": _class,
            "time_range": _time_range}


def role_of(slot: str) -> str:
    """The role a slot's value plays: the prefix before ``_date``/``_time`` of its first
    part (``arrive_date.day_number`` → ``arrive``), else ``"date"``/``"time"`` alone."""
    head = slot.split(".", 1)[0] if "." in slot else ""
    for part in ("_date", "_time"):
        if head.endswith(part):
            return head[: -len(part)]
    return ""


def combine(slots: Sequence[tuple[str, str | None, Any]],
            today: datetime.date | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """The utterance's dates and times by role, from its slots as (slot name, kind,
    normalized value); see the module docstring for the rules."""
    today = today or datetime.date.today()
    parts: dict[str, dict[str, Any]] = {}
    times: dict[str, str] = {}
    for slot, kind, value in slots:
        if value is None:
            continue
        role = role_of(slot) or ("time" if kind == "time" else "date")
        if kind == "time" and slot.rsplit(".", 1)[-1] == "time":
            times.setdefault(role, value)
        elif kind in ("day_number", "month", "year", "weekday", "relative_date"):
            parts.setdefault(role, {}).setdefault(kind, value)
        elif kind == "time_range" and re.fullmatch(r"\d{4}-\d\d-\d\d", str(value)):
            parts.setdefault(role, {}).setdefault("relative_date", value)
    dates = {}
    for role, part in parts.items():
        date = _date_from(part, today)
        if date is not None:
            dates[role] = date
    return dates, times


def _date_from(part: dict[str, Any], today: datetime.date) -> str | None:
    if "month" in part and "day_number" in part:
        year = part.get("year", today.year)
        try:
            date = datetime.date(year, part["month"], part["day_number"])
            if "year" not in part and date < today:
                date = datetime.date(year + 1, part["month"], part["day_number"])
        except ValueError:
            return None
        return date.isoformat()
    if "relative_date" in part:
        return part["relative_date"]
    if "weekday" in part:
        ahead = (part["weekday"] - today.isoweekday()) % 7
        return (today + datetime.timedelta(days=ahead)).isoformat()
    return None
