"""Slot values read as numbers, dates and times: table-driven, including what must give None."""

from __future__ import annotations

import datetime

import pytest

from slotfill.normalize import combine, kind_of, normalize, role_of

TODAY = datetime.date(2026, 12, 8)  # a Tuesday

CASES = [
    # (kind, value as typed, normalized)
    ("day_number", "2nd", 2), ("day_number", "second", 2), ("day_number", "twenty first", 21),
    ("day_number", "21st", 21), ("day_number", "thirty first", 31), ("day_number", "5", 5),
    ("day_number", "the 3rd", 3), ("day_number", "twentieth", 20), ("day_number", "32nd", None),
    ("day_number", "zeroth", None), ("day_number", "soon", None),
    ("month", "November", 11), ("month", "nov", 11), ("month", "Dec", 12),
    ("month", "Dec.", 12), ("month", "sept", 9), ("month", "11", 11), ("month", "13", None),
    ("month", "ma", None), ("month", "smarch", None),
    ("weekday", "monday", 1), ("weekday", "Tue", 2), ("weekday", "thurs", 4),
    ("weekday", "saturdays", 6), ("weekday", "Sunday", 7), ("weekday", "someday", None),
    ("time", "5 pm", "17:00"), ("time", "5pm", "17:00"), ("time", "1730", "17:30"),
    ("time", "10:30 am", "10:30"), ("time", "10:30", "10:30"), ("time", "noon", "12:00"),
    ("time", "midnight", "00:00"), ("time", "12 am", "00:00"), ("time", "12 pm", "12:00"),
    ("time", "930 pm", "21:30"), ("time", "8 a.m.", "08:00"), ("time", "five pm", "17:00"),
    ("time", "five thirty pm", "17:30"), ("time", "7 o'clock pm", "19:00"),
    ("time", "5", None), ("time", "13 pm", None), ("time", "25:00", None),
    ("time", "late", None),
    ("period", "morning", {"start": "06:00", "end": "12:00"}),
    ("period", "evening", {"start": "18:00", "end": "22:00"}),
    ("period", "early afternoon", {"start": "12:00", "end": "15:00"}),
    ("period", "mornings", {"start": "06:00", "end": "12:00"}),
    ("period", "in the afternoon", {"start": "12:00", "end": "18:00"}),
    ("period", "brunch", None),
    ("relative_date", "today", "2026-12-08"), ("relative_date", "tomorrow", "2026-12-09"),
    ("relative_date", "yesterday", "2026-12-07"),
    ("relative_date", "day after tomorrow", "2026-12-10"),
    ("relative_date", "next monday", "2026-12-14"),
    ("relative_date", "next tuesday", "2026-12-15"),
    ("relative_date", "this friday", "2026-12-11"),
    ("relative_date", "in three days", "2026-12-11"),
    ("relative_date", "next week", "2026-12-15"), ("relative_date", "someday", None),
    ("year", "1991", 1991), ("year", "nineteen ninety one", 1991), ("year", "twenty twenty", 2020),
    ("year", "91", None),
    ("number", "two", 2), ("number", "1,200", 1200), ("number", "twenty five", 25),
    ("number", "one hundred and five", 105), ("number", "3", 3), ("number", "4.5", 4.5),
    ("number", "a few", None),
    ("amount", "$300", 300), ("amount", "300 dollars", 300), ("amount", "1,200", 1200),
    ("amount", "five hundred dollars", 500), ("amount", "cheap", None),
    ("round_trip", "round trip", "round trip"), ("round_trip", "roundtrip", "round trip"),
    ("round_trip", "round-trip", "round trip"), ("round_trip", "one way", "one way"),
    ("round_trip", "both", None),
    ("class", "first class", "first"), ("class", "coach", "economy"),
    ("class", "business", "business"), ("class", "economy class", "economy"),
    ("class", "fancy", None),
    ("time_range", "tomorrow", "2026-12-09"), ("time_range", "at 5 pm", "17:00"),
    ("time_range", "next year", None),
    (None, "Boston", None), ("no_such_kind", "2", None),
]


@pytest.mark.parametrize("kind, value, expected", CASES,
                         ids=[f"{kind}:{value}" for kind, value, _ in CASES])
def test_normalize(kind, value, expected):
    assert normalize(kind, value, TODAY) == expected


def test_there_are_at_least_60_cases():
    assert len(CASES) >= 60


@pytest.mark.parametrize("value", ["", " ", "\x00", "9" * 400, "$$$", "::", "ü", "1,2,3"])
def test_odd_values_give_none_never_an_exception(value):
    for kind in ("day_number", "month", "weekday", "time", "period", "relative_date", "year",
                 "number", "amount", "round_trip", "class", "time_range"):
        result = normalize(kind, value, TODAY)
        assert result is None or isinstance(result, (int, float, str, dict))


@pytest.mark.parametrize("slot, kind", [
    ("arrive_date.day_number", "day_number"), ("depart_date.month_name", "month"),
    ("depart_date.day_name", "weekday"), ("depart_time.time", "time"),
    ("arrive_time.period_of_day", "period"), ("depart_date.today_relative", "relative_date"),
    ("fare_amount", "amount"), ("timeRange", "time_range"),
    ("party_size_number", "number"), ("toloc.city_name", None), ("artist", None),
])
def test_kinds_come_from_slot_names(slot, kind):
    assert kind_of(slot) == kind


def test_a_mapping_names_kinds_for_other_datasets():
    types = {"when": "relative_date", "guests": "number", "depart_time.time": "period"}
    assert kind_of("when", types) == "relative_date"
    assert kind_of("booking.guests", types) == "number"  # by its suffix
    assert kind_of("depart_time.time", types) == "period"  # the full name wins
    assert kind_of("toloc.city_name", types) is None


def test_roles_come_from_the_slot_prefix():
    assert role_of("arrive_date.day_number") == "arrive"
    assert role_of("return_time.time") == "return"
    assert role_of("depart_date.month_name") == "depart"
    assert role_of("day_number") == "" and role_of("toloc.city_name") == ""


def test_month_and_day_make_the_next_such_date():
    dates, times = combine([("arrive_date.month_name", "month", 11),
                            ("arrive_date.day_number", "day_number", 2),
                            ("depart_date.month_name", "month", 12),
                            ("depart_date.day_number", "day_number", 24),
                            ("depart_time.time", "time", "17:00")], TODAY)
    assert dates == {"arrive": "2027-11-02", "depart": "2026-12-24"}
    assert times == {"depart": "17:00"}


def test_a_year_weekday_or_relative_date_makes_a_date_and_bad_dates_none():
    assert combine([("depart_date.month_name", "month", 2),
                    ("depart_date.day_number", "day_number", 3),
                    ("depart_date.year", "year", 1991)], TODAY)[0] == {"depart": "1991-02-03"}
    assert combine([("depart_date.day_name", "weekday", 5)], TODAY)[0] == {
        "depart": "2026-12-11"}
    assert combine([("depart_date.today_relative", "relative_date", "2026-12-09")],
                   TODAY)[0] == {"depart": "2026-12-09"}
    assert combine([("depart_date.month_name", "month", 2),
                    ("depart_date.day_number", "day_number", 30)], TODAY)[0] == {}
    assert combine([("depart_date.day_number", "day_number", None)], TODAY) == ({}, {})
