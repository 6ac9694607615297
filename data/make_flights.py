"""Generate ``slotfill/bundled/flights``: the small flight-booking dataset bundled with slotfill.

Utterances are drawn from hand-written templates with a seeded random generator, so
the output is the same on every run and machine. They are tagged with ATIS-style slot
names (``fromloc.city_name``, ``depart_date.day_number``, ...) and intents (``flight``,
``airfare``, ``ground_service``, ``airline``, ``flight_time`` and the multi-intent
``flight#airfare``), and written in the ATIS layout::

    flights/{train,valid,test}/{seq.in,seq.out,label}

Some cities never appear in train, so valid and test measure unseen slot values.

Usage::

    python data/make_flights.py [--out FOLDER] [--seed N]

Only the standard library is used, so the script runs without installing slotfill.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

SEED = 2
SIZES = {"train": 600, "valid": 100, "test": 150}
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "slotfill" / "bundled" / "flights"

TRAIN_CITIES = [
    "atlanta", "baltimore", "boston", "charlotte", "chicago", "cleveland", "dallas",
    "denver", "detroit", "houston", "las vegas", "los angeles", "miami", "milwaukee",
    "minneapolis", "nashville", "new york", "oakland", "orlando", "philadelphia",
    "phoenix", "pittsburgh", "salt lake city", "san diego", "san francisco", "seattle",
    "st. louis", "taipei", "tampa", "toronto", "washington", "montreal",
]
# Only valid and test use these, so a tagger must tag city names it never saw.
HELD_OUT_CITIES = ["kansas city", "new orleans", "tacoma", "columbus", "st. petersburg",
                   "fort worth", "memphis"]

AIRLINES = ["american airlines", "united", "delta", "continental", "us air", "northwest",
            "alaska airlines", "southwest", "eva air", "china airlines", "air canada"]
MONTHS = {"january": 31, "february": 28, "march": 31, "april": 30, "may": 31, "june": 30,
          "july": 31, "august": 31, "september": 30, "october": 31, "november": 30,
          "december": 31}
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ORDINAL_WORDS = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
    *(f"twenty {word}" for word in ["first", "second", "third", "fourth", "fifth", "sixth",
                                    "seventh", "eighth", "ninth"]),
    "thirtieth", "thirty first",
]
PERIODS = ["morning", "afternoon", "evening", "night"]
CLASSES = ["first class", "business class", "economy", "coach"]
ROUND_TRIP = ["round trip", "one way"]
CHEAPEST = ["cheapest", "lowest", "least expensive"]
UNDER = [("under",), ("below",), ("less", "than")]
FLIGHT_MODS = ["earliest", "latest", "first", "last"]
STOPS = ["nonstop", "direct", "non stop"]
TRANSPORT = ["taxi", "limousine", "rental car", "bus", "shuttle"]

TEMPLATES = {
    "flight": [
        "i want to fly from {from} to {to} {ddate}",
        "i would like to fly from {from} to {to} {ddate} {dtime}",
        "i need a flight from {from} to {to} {ddate}",
        "show me flights from {from} to {to}",
        "show me the flights from {from} to {to} {dtime}",
        "show me the {mod} flight from {from} to {to} {ddate}",
        "list {stops} flights from {from} to {to}",
        "list all {stops} flights from {from} to {to} {ddate}",
        "arrive {to} {adate}",
        "i need to arrive in {to} {adate} {atime}",
        "i want to arrive in {to} {atime}",
        "leave {from} {ddate}",
        "leave {from} {ddate} and arrive in {to} {atime}",
        "i would like to leave {from} {dtime} and arrive in {to} {adate}",
        "what flights go from {from} to {to} {ddate}",
        "what flights leave {from} {dtime} for {to}",
        "flights from {from} to {to} on {airline}",
        "{airline} flights from {from} to {to} {ddate}",
        "are there any flights from {from} to {to} that stop in {stop}",
        "i want to go from {from} to {to} via {stop} {ddate}",
        "find me a {round_trip} flight from {from} to {to} {ddate}",
        "i need a {class} ticket from {from} to {to} {ddate}",
        "{dday} {dperiod} flights from {from} to {to}",
        "what is the {mod} flight from {from} to {to} that arrives {atime}",
        "please book a flight to {to} from {from} {ddate}",
        "i'd like to book a flight from {from} to {to} {ddate} on {airline}",
        "get me from {from} to {to} {ddate}",
        "show me flights arriving in {to} {adate}",
        "do you have a {stops} flight from {from} to {to} {dtime}",
        "what flights are there from {from} to {to} {ddate} {dtime}",
    ],
    "airfare": [
        "show me the {cheapest} fares from {from} to {to}",
        "show me {cheapest} fares from {from} to {to} {ddate}",
        "how much is a {round_trip} ticket from {from} to {to}",
        "what is the fare from {from} to {to} {ddate}",
        "what are the {class} fares from {from} to {to}",
        "list fares from {from} to {to} {under} {fare}",
        "what is the {cheapest} {round_trip} fare from {from} to {to}",
        "how much does it cost to fly {airline} from {from} to {to}",
        "what is the price of a {class} ticket from {from} to {to} {ddate}",
        "i want the {cheapest} fare to {to} from {from}",
    ],
    "flight#airfare": [
        "show me flights and fares from {from} to {to} {ddate}",
        "list flights from {from} to {to} and their fares",
        "what flights from {from} to {to} {ddate} cost {under} {fare}",
    ],
    "ground_service": [
        "what ground transportation is available in {city}",
        "is there a {transport} from the airport to downtown {city}",
        "i need a {transport} in {city}",
        "how do i get from the airport to downtown {city}",
        "what types of ground transportation are there in {city}",
        "can i get a {transport} at the airport in {city}",
    ],
    "airline": [
        "which airlines fly from {from} to {to}",
        "what airlines have flights from {from} to {to} {ddate}",
        "what airlines fly to {to}",
        "which airlines serve {city}",
        "which airlines have {class} service from {from} to {to}",
        "what airlines have {stops} flights between {from} and {to}",
    ],
    "flight_time": [
        "what time does the {mod} flight from {from} to {to} leave",
        "what are the departure times from {from} to {to} {ddate}",
        "when does {airline} fly from {from} to {to}",
        "what time are the flights from {from} to {to} {ddate}",
    ],
}
# Flight requests dominate real booking logs (as in ATIS); the other intents are rarer.
INTENT_WEIGHTS = {"flight": 60, "airfare": 15, "flight#airfare": 3, "ground_service": 10,
                  "airline": 8, "flight_time": 4}

# A piece is a phrase and its slot (None for words outside any slot).
Piece = tuple[str, str | None]


class Utterances:
    """Draws tagged utterances from TEMPLATES with one seeded random generator."""

    def __init__(self, rng: random.Random, cities: list[str]) -> None:
        self.rng = rng
        self.cities = cities
        self.used_cities: list[str] = []

    def utterance(self) -> tuple[list[str], list[str], str]:
        """One (tokens, BIO tags, intent) triple."""
        intents = list(INTENT_WEIGHTS)
        intent = self.rng.choices(intents, weights=[INTENT_WEIGHTS[i] for i in intents])[0]
        template = self.rng.choice(TEMPLATES[intent])
        self.used_cities = []
        pieces: list[Piece] = []
        for word in template.split():
            if word.startswith("{"):
                pieces.extend(self.fill(word.strip("{}")))
            else:
                pieces.append((word, None))
        tokens, tags = [], []
        for phrase, slot in pieces:
            words = phrase.split()
            tokens.extend(words)
            if slot is None:
                tags.extend("O" for _ in words)
            else:
                tags.extend([f"B-{slot}"] + [f"I-{slot}"] * (len(words) - 1))
        return tokens, tags, intent

    def fill(self, name: str) -> list[Piece]:
        rng = self.rng
        if name in ("from", "to", "stop"):
            role = {"from": "fromloc", "to": "toloc", "stop": "stoploc"}[name]
            return [(self.city(), f"{role}.city_name")]
        if name == "city":
            return [(self.city(), "city_name")]
        if name == "ddate":
            return self.date("depart_date")
        if name == "adate":
            return self.date("arrive_date")
        if name == "dtime":
            return self.time("depart_time")
        if name == "atime":
            return self.time("arrive_time")
        if name == "dday":
            return [(rng.choice(DAYS), "depart_date.day_name")]
        if name == "dperiod":
            return [(rng.choice(PERIODS), "depart_time.period_of_day")]
        if name == "under":
            # ATIS tags only the comparative itself: "less" is the slot, "than" is not.
            first, *rest = rng.choice(UNDER)
            return [(first, "cost_relative"), *((word, None) for word in rest)]
        if name == "fare":
            return [(f"{rng.randrange(100, 1600, 50)} dollars", "fare_amount")]
        lists = {"airline": (AIRLINES, "airline_name"), "class": (CLASSES, "class_type"),
                 "round_trip": (ROUND_TRIP, "round_trip"),
                 "cheapest": (CHEAPEST, "cost_relative"), "mod": (FLIGHT_MODS, "flight_mod"),
                 "stops": (STOPS, "flight_stop"), "transport": (TRANSPORT, "transport_type")}
        values, slot = lists[name]
        return [(rng.choice(values), slot)]

    def city(self) -> str:
        choices = [city for city in self.cities if city not in self.used_cities]
        city = self.rng.choice(choices)
        self.used_cities.append(city)
        return city

    def day_number(self, month: str) -> str:
        day = self.rng.randint(1, MONTHS[month])
        if self.rng.random() < 0.5:
            return ORDINAL_WORDS[day - 1]
        suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        return f"{day}{suffix}"

    def date(self, role: str) -> list[Piece]:
        rng = self.rng
        month = rng.choice(list(MONTHS))
        form = rng.choice(["on month day", "month day", "on the day of month", "on day_name",
                           "next day_name", "today_relative"])
        if form == "on month day":
            return [("on", None), (month, f"{role}.month_name"),
                    (self.day_number(month), f"{role}.day_number")]
        if form == "month day":
            return [(month, f"{role}.month_name"), (self.day_number(month), f"{role}.day_number")]
        if form == "on the day of month":
            return [("on the", None), (self.day_number(month), f"{role}.day_number"),
                    ("of", None), (month, f"{role}.month_name")]
        if form == "on day_name":
            return [("on", None), (rng.choice(DAYS), f"{role}.day_name")]
        if form == "next day_name":
            return [("next", f"{role}.date_relative"), (rng.choice(DAYS), f"{role}.day_name")]
        return [(rng.choice(["today", "tomorrow"]), f"{role}.today_relative")]

    def clock(self) -> str:
        rng = self.rng
        if rng.random() < 0.08:
            return rng.choice(["noon", "midnight"])
        hour = rng.randint(1, 12)
        minutes = rng.choice(["", "", ":15", ":30", ":45"])
        return f"{hour}{minutes} {rng.choice(['am', 'pm'])}"

    def time(self, role: str) -> list[Piece]:
        rng = self.rng
        relatives = ["before", "after", "around"] + (["by"] if role == "arrive_time" else [])
        form = rng.choice(["at", "relative", "period"])
        if form == "at":
            return [("at", None), (self.clock(), f"{role}.time")]
        if form == "relative":
            return [(rng.choice(relatives), f"{role}.time_relative"),
                    (self.clock(), f"{role}.time")]
        period = rng.choice(PERIODS)
        return [("at" if period == "night" else "in the", None),
                (period, f"{role}.period_of_day")]


def generate(seed: int = SEED) -> dict[str, list[tuple[list[str], list[str], str]]]:
    """The splits as lists of (tokens, tags, intent), with no utterance in two places."""
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    splits = {}
    for split, size in SIZES.items():
        cities = TRAIN_CITIES if split == "train" else TRAIN_CITIES + HELD_OUT_CITIES
        drawer = Utterances(rng, cities)
        examples = []
        while len(examples) < size:
            tokens, tags, intent = drawer.utterance()
            if tuple(tokens) not in seen:
                seen.add(tuple(tokens))
                examples.append((tokens, tags, intent))
        splits[split] = examples
    return splits


def write(splits: dict, out: Path) -> None:
    """Write each split as ``out/<split>/{seq.in,seq.out,label}``, newline-terminated."""
    for split, examples in splits.items():
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        columns = {
            "seq.in": [" ".join(tokens) for tokens, _, _ in examples],
            "seq.out": [" ".join(tags) for _, tags, _ in examples],
            "label": [intent for _, _, intent in examples],
        }
        for name, lines in columns.items():
            with open(folder / name, "w", encoding="utf-8", newline="\n") as handle:
                handle.write("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder to write (default: {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default: {SEED})")
    args = parser.parse_args(argv)
    splits = generate(args.seed)
    write(splits, args.out)
    sizes = ", ".join(f"{name} {len(examples)}" for name, examples in splits.items())
    print(f"wrote {args.out}: {sizes}")


if __name__ == "__main__":
    main()
