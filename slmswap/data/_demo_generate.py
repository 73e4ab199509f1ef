"""The generator of the bundled demo dataset (``slmswap/data/demo/{train,test}.jsonl``).

The data is synthetic: tool specs, query templates and value pools written here, drawn with
``random.Random(SEED)``; nothing is downloaded. Run ``python -m slmswap.data._demo_generate`` to rewrite the
files, or add ``--check`` to verify that the shipped files are exactly what this script writes.

Each conversation is one user query and one assistant answer: a single tool call (most), two calls in one
turn, or a short text reply to a query that needs no tool. It lists the tool(s) it calls plus one distractor
tool (a no-tool query lists two unrelated tools) and no system message. Every argument value is written
verbatim in the query (strings) or stated as a plain number, so the mapping from query to call is learnable.
No query text appears twice, so none is shared by the two splits.
"""

from __future__ import annotations

import argparse
import json
import operator
import random
import string
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["OUTPUT_DIR", "SEED", "SPLITS", "ToolSpec", "main", "render_splits"]

SEED = 20250601
"""The seed of the one ``random.Random`` every choice is drawn from."""

SPLITS: dict[str, tuple[int, int, int]] = {"train": (232, 48, 40), "test": (43, 9, 8)}
"""Conversations per split: (single call, two parallel calls, no tool)."""

OUTPUT_DIR = Path(__file__).resolve().parent / "demo"
"""Where the shipped files live (inside the installed package)."""

_DISTRACTORS = 1

# -- value pools --------------------------------------------------------------------------------------------------

CITIES = (
    "Paris", "Rome", "Lisbon", "Osaka", "Lima", "Cairo", "Oslo", "Quito", "Hanoi", "Perth", "Dakar", "Riga",
    "Berlin", "Madrid", "Toronto", "Nairobi", "Seoul", "Dublin", "Vienna", "Prague", "Boston", "Denver",
    "Mumbai", "Sydney", "Athens", "Bogota", "Havana", "Zurich", "Helsinki", "Lagos",
)  # fmt: skip
PLACES = (
    "Central Station", "City Hall", "Riverside Park", "Union Square", "Modern Art Museum", "Harbor Bridge",
    "Pine Street Market", "Oak Hill Library", "Grand Stadium", "North Airport", "Maple Hospital", "Lakeside Mall",
)  # fmt: skip
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "INR")
LANGUAGES = ("Spanish", "French", "German", "Italian", "Japanese", "Portuguese", "Dutch", "Korean")
PHRASES = (
    "good morning", "thank you very much", "where is the train station", "I would like a coffee",
    "see you tomorrow", "how much does this cost", "happy birthday", "the bill, please", "I am lost",
    "nice to meet you", "where is the bathroom", "I love this city",
)  # fmt: skip
NAMES = ("anna", "ben", "chloe", "david", "elena", "farid", "grace", "hiro", "ines", "jonas", "kemi", "maya")
DOMAINS = ("example.com", "example.org", "mail.example.net")
SUBJECTS = (
    "Lunch plans", "Project update", "Invoice 2043", "Team offsite", "Quarterly report", "Weekend trip",
    "Meeting notes", "Holiday schedule",
)  # fmt: skip
BODIES = (
    "See you at noon", "The draft is ready for review", "Please pay by Friday", "Running ten minutes late",
    "Thanks for your help", "Can we move it to Monday",
)  # fmt: skip
EVENTS = (
    "Dentist appointment", "Team standup", "Yoga class", "Budget review", "Call with Maya", "Book club",
    "Parent-teacher meeting", "Car service",
)  # fmt: skip
STOCKS = ("AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "IBM", "INTC")
UNIT_PAIRS = (
    ("kilometers", "miles"), ("miles", "kilometers"), ("kilograms", "pounds"), ("pounds", "kilograms"),
    ("liters", "gallons"), ("gallons", "liters"), ("meters", "feet"), ("feet", "meters"),
)  # fmt: skip
CUISINES = ("Italian", "Thai", "Mexican", "Indian", "Japanese", "Ethiopian", "Greek", "Lebanese", "Korean")
TOPICS = ("technology", "climate change", "football", "space exploration", "the economy", "medicine", "elections")
ARTISTS = ("Miles Davis", "Daft Punk", "Nina Simone", "Coldplay", "Bob Marley", "Adele", "Radiohead", "Queen")
REMINDERS = (
    "call the plumber", "water the plants", "pick up the dry cleaning", "take my medicine", "pay the rent",
    "buy milk", "feed the cat", "back up my laptop",
)  # fmt: skip
INGREDIENTS = ("chickpeas", "salmon", "mushrooms", "lentils", "spinach", "chicken", "tofu", "eggplant", "pumpkin")
DIETS = ("vegetarian", "vegan", "gluten-free")
MOVIES = ("Dune", "Inside Out 2", "Oppenheimer", "The Matrix", "Casablanca", "Spirited Away", "Alien", "Up")
WORDS = ("serendipity", "ephemeral", "ubiquitous", "laconic", "quixotic", "petrichor", "meander", "zenith")
TEAMS = ("Arsenal", "Lakers", "Yankees", "Celtics", "Real Madrid", "Boca Juniors", "Maple Leafs", "Bayern Munich")
AIRLINES = ("BA", "LH", "AF", "KL", "IB", "QF", "AC", "UA")
TIMER_MINUTES = (2, 3, 5, 8, 10, 12, 15, 20, 25, 30, 45, 60, 90)
TIMER_LABELS = ("pasta", "laundry", "tea", "workout", "nap", "oven")
MODES = ("driving", "walking", "cycling", "transit")

# -- no-tool queries ------------------------------------------------------------------------------------------------

CAPITALS = (
    ("Canada", "Ottawa"), ("Australia", "Canberra"), ("Brazil", "Brasilia"), ("Kenya", "Nairobi"),
    ("Japan", "Tokyo"), ("Egypt", "Cairo"), ("Norway", "Oslo"), ("Peru", "Lima"), ("Portugal", "Lisbon"),
    ("Turkey", "Ankara"), ("Vietnam", "Hanoi"), ("Chile", "Santiago"), ("Morocco", "Rabat"), ("Poland", "Warsaw"),
    ("Argentina", "Buenos Aires"), ("Ghana", "Accra"), ("Mexico", "Mexico City"), ("Sweden", "Stockholm"),
)  # fmt: skip
CAPITAL_QUESTIONS = ("What is the capital of {country}?", "Which city is the capital of {country}?")
ARITHMETIC: tuple[tuple[str, str, Callable[[int, int], int]], ...] = (
    ("What is {a} plus {b}?", "{a} plus {b} is {r}.", operator.add),
    ("What's {a} times {b}?", "{a} times {b} is {r}.", operator.mul),
    ("How much is {a} minus {b}?", "{a} minus {b} is {r}.", operator.sub),
)
SMALL_TALK = (
    ("Hi there!", "Hello! How can I help you today?"),
    ("Thanks, that's all I needed.", "You're welcome! Have a great day."),
    ("Who are you?", "I'm an assistant that can use tools to help you with everyday tasks."),
    ("Tell me a joke.", "Why did the scarecrow win an award? Because he was outstanding in his field."),
    ("Good morning!", "Good morning! What can I do for you?"),
    ("How are you today?", "I'm doing well, thanks for asking! How can I help?"),
    ("Goodbye!", "Goodbye! Talk to you soon."),
    ("What's your favourite colour?", "I don't have one, but I've heard blue is popular."),
    ("Can you keep a secret?", "I don't remember anything between conversations, so your secret is safe."),
    ("Thank you so much!", "Happy to help!"),
)

# -- parallel queries: two requests in one message -----------------------------------------------------------------

JOINERS = ("{a} Also: {b}", "{a} {b}", "Two things. {a} {b}", "First: {a} Second: {b}", "{a} And then: {b}")

# -- tools ------------------------------------------------------------------------------------------------------------

Values = Callable[[random.Random], dict[str, Any]]


@dataclass(frozen=True, eq=False)  # compared by identity: each spec is one tool
class ToolSpec:
    """One demo tool: its JSON Schema, how to draw argument values, and query templates.

    A template's ``{fields}`` name the arguments the query states; the call passes exactly those.
    """

    name: str
    description: str
    properties: dict[str, dict[str, Any]]
    required: tuple[str, ...]
    values: Values
    templates: tuple[str, ...]

    def openai(self) -> dict[str, Any]:
        """The tool in the OpenAI ``{"type": "function", "function": {...}}`` form."""
        parameters = {"type": "object", "properties": self.properties, "required": list(self.required)}
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": parameters},
        }

    def query(self, rng: random.Random) -> tuple[str, dict[str, Any]]:
        """A query for this tool and the arguments of the call it asks for."""
        template = rng.choice(self.templates)
        values = self.values(rng)
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        missing = set(self.required) - fields
        if missing:
            raise ValueError(f"{self.name}: template {template!r} lacks the required {sorted(missing)}")
        text = template.format(**{name: _text(value) for name, value in values.items()})
        return text, {name: values[name] for name in self.properties if name in fields}


def _text(value: Any) -> str:
    """How a value is written in a query: exactly as its JSON (without quotes, for strings)."""
    return value if isinstance(value, str) else json.dumps(value)


def _string() -> dict[str, Any]:
    return {"type": "string"}


def _enum(values: Sequence[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}


def _date(rng: random.Random) -> str:
    return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(6, 21):02d}:{rng.choice((0, 15, 30, 45)):02d}"


def _amount(rng: random.Random) -> int | float:
    """A plain amount: a round integer, or now and then one with cents."""
    if rng.random() < 0.25:
        return rng.randint(500, 20000) / 100
    return rng.choice((5, 10, 20, 25, 40, 50, 75, 100, 120, 150, 200, 250, 300, 500, 750, 1000, 1200, 2500))


def _two(rng: random.Random, pool: Sequence[str], first: str, second: str) -> dict[str, Any]:
    a, b = rng.sample(list(pool), 2)
    return {first: a, second: b}


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "get_weather",
        "Get the current weather for a city.",
        {"city": _string(), "units": _enum(("celsius", "fahrenheit"))},
        ("city",),
        lambda r: {"city": r.choice(CITIES), "units": r.choice(("celsius", "fahrenheit"))},
        (
            "What's the weather like in {city}?",
            "Do I need an umbrella in {city} right now?",
            "Tell me the current weather in {city} in {units}.",
            "How warm is it in {city}? Give me the temperature in {units}.",
        ),
    ),
    ToolSpec(
        "convert_currency",
        "Convert an amount of money from one currency to another.",
        {"amount": NUMBER, "from_currency": _string(), "to_currency": _string()},
        ("amount", "from_currency", "to_currency"),
        lambda r: {"amount": _amount(r), **_two(r, CURRENCIES, "from_currency", "to_currency")},
        (
            "Convert {amount} {from_currency} to {to_currency}.",
            "How much is {amount} {from_currency} in {to_currency}?",
            "I have {amount} {from_currency}. What is that in {to_currency}?",
        ),
    ),
    ToolSpec(
        "search_flights",
        "Search flights between two cities on a date.",
        {
            "origin": _string(),
            "destination": _string(),
            "date": _string(),
            "cabin": _enum(("economy", "premium", "business", "first")),
        },
        ("origin", "destination", "date"),
        lambda r: {
            **_two(r, CITIES, "origin", "destination"),
            "date": _date(r),
            "cabin": r.choice(("economy", "premium", "business", "first")),
        },
        (
            "Find flights from {origin} to {destination} on {date}.",
            "Are there any flights from {origin} to {destination} on {date}?",
            "Search {cabin} class flights from {origin} to {destination} on {date}.",
            "I need to fly from {origin} to {destination} on {date}, {cabin} please.",
        ),
    ),
    ToolSpec(
        "create_calendar_event",
        "Add an event to the user's calendar.",
        {"title": _string(), "date": _string(), "time": _string()},
        ("title", "date"),
        lambda r: {"title": r.choice(EVENTS), "date": _date(r), "time": _time(r)},
        (
            "Add '{title}' to my calendar on {date} at {time}.",
            "Schedule '{title}' for {date}.",
            "Put '{title}' in my calendar on {date} at {time}, please.",
        ),
    ),
    ToolSpec(
        "send_email",
        "Send an email.",
        {"to": _string(), "subject": _string(), "body": _string()},
        ("to", "subject"),
        lambda r: {
            "to": f"{r.choice(NAMES)}@{r.choice(DOMAINS)}",
            "subject": r.choice(SUBJECTS),
            "body": r.choice(BODIES),
        },
        (
            "Send an email to {to} with the subject '{subject}'.",
            "Email {to} about '{subject}' and say '{body}'.",
            "Write to {to}, subject '{subject}', message '{body}'.",
        ),
    ),
    ToolSpec(
        "get_stock_price",
        "Get the latest price of a stock by ticker symbol.",
        {"symbol": _string()},
        ("symbol",),
        lambda r: {"symbol": r.choice(STOCKS)},
        (
            "What's the stock price of {symbol}?",
            "How is {symbol} trading right now?",
            "Give me the latest quote for {symbol}.",
        ),
    ),
    ToolSpec(
        "translate_text",
        "Translate text into another language.",
        {"text": _string(), "target_language": _string()},
        ("text", "target_language"),
        lambda r: {"text": r.choice(PHRASES), "target_language": r.choice(LANGUAGES)},
        (
            "Translate '{text}' into {target_language}.",
            "How do you say '{text}' in {target_language}?",
            "What is '{text}' in {target_language}?",
        ),
    ),
    ToolSpec(
        "set_timer",
        "Start a countdown timer.",
        {"minutes": INTEGER, "label": _string()},
        ("minutes",),
        lambda r: {
            "minutes": r.choice((2, 3, 5, 8, 10, 12, 15, 20, 25, 30, 45, 60, 90)),
            "label": r.choice(("pasta", "laundry", "tea", "workout", "nap", "oven")),
        },
        (
            "Set a timer for {minutes} minutes.",
            "Start a {minutes} minute timer called '{label}'.",
            "Timer for {minutes} minutes please, label it '{label}'.",
            "Can you time {minutes} minutes for me?",
        ),
    ),
    ToolSpec(
        "convert_units",
        "Convert a measurement from one unit to another.",
        {"value": NUMBER, "from_unit": _string(), "to_unit": _string()},
        ("value", "from_unit", "to_unit"),
        lambda r: dict(zip(("value", "from_unit", "to_unit"), (_amount(r), *r.choice(UNIT_PAIRS)), strict=True)),
        (
            "Convert {value} {from_unit} to {to_unit}.",
            "How many {to_unit} is {value} {from_unit}?",
            "What is {value} {from_unit} in {to_unit}?",
        ),
    ),
    ToolSpec(
        "find_restaurants",
        "Find restaurants in a city.",
        {"city": _string(), "cuisine": _string(), "price_range": _enum(("cheap", "moderate", "expensive"))},
        ("city",),
        lambda r: {
            "city": r.choice(CITIES),
            "cuisine": r.choice(CUISINES),
            "price_range": r.choice(("cheap", "moderate", "expensive")),
        },
        (
            "Find {cuisine} restaurants in {city}.",
            "Where can I eat {cuisine} food in {city}?",
            "Any {price_range} {cuisine} places in {city}?",
            "Recommend a restaurant in {city}.",
        ),
    ),
    ToolSpec(
        "get_news",
        "Get recent news headlines on a topic.",
        {"topic": _string(), "count": INTEGER},
        ("topic",),
        lambda r: {"topic": r.choice(TOPICS), "count": r.randint(3, 10)},
        (
            "What's the latest news about {topic}?",
            "Show me {count} headlines about {topic}.",
            "Any news on {topic} today?",
        ),
    ),
    ToolSpec(
        "book_hotel",
        "Book a hotel room.",
        {"city": _string(), "check_in": _string(), "nights": INTEGER},
        ("city", "check_in", "nights"),
        lambda r: {"city": r.choice(CITIES), "check_in": _date(r), "nights": r.randint(2, 7)},
        (
            "Book a hotel in {city} from {check_in} for {nights} nights.",
            "I need a room in {city} for {nights} nights starting {check_in}.",
            "Reserve a hotel in {city}, check-in {check_in}, {nights} nights.",
        ),
    ),
    ToolSpec(
        "get_directions",
        "Get directions between two places.",
        {"origin": _string(), "destination": _string(), "mode": _enum(MODES)},
        ("origin", "destination"),
        lambda r: {
            **_two(r, PLACES, "origin", "destination"),
            "mode": r.choice(("driving", "walking", "cycling", "transit")),
        },
        (
            "How do I get from {origin} to {destination}?",
            "Give me {mode} directions from {origin} to {destination}.",
            "Show the {mode} route from {origin} to {destination}.",
        ),
    ),
    ToolSpec(
        "play_music",
        "Play music by an artist.",
        {"artist": _string(), "volume": INTEGER},
        ("artist",),
        lambda r: {"artist": r.choice(ARTISTS), "volume": r.randint(2, 9)},
        ("Play some {artist}.", "Put on music by {artist}.", "Play {artist} at volume {volume}."),
    ),
    ToolSpec(
        "set_reminder",
        "Remind the user of something at a time today.",
        {"text": _string(), "time": _string()},
        ("text", "time"),
        lambda r: {"text": r.choice(REMINDERS), "time": _time(r)},
        ("Remind me to {text} at {time}.", "Set a reminder at {time} to {text}.", "At {time}, remind me to {text}."),
    ),
    ToolSpec(
        "get_local_time",
        "Get the current local time in a city.",
        {"city": _string()},
        ("city",),
        lambda r: {"city": r.choice(CITIES)},
        (
            "What time is it in {city}?",
            "What's the local time in {city} right now?",
            "Tell me the current time in {city}.",
        ),
    ),
    ToolSpec(
        "search_recipes",
        "Search recipes by main ingredient.",
        {"ingredient": _string(), "diet": _enum(DIETS)},
        ("ingredient",),
        lambda r: {"ingredient": r.choice(INGREDIENTS), "diet": r.choice(DIETS)},
        (
            "Find me a recipe with {ingredient}.",
            "What can I cook with {ingredient}?",
            "Show {diet} recipes using {ingredient}.",
        ),
    ),
    ToolSpec(
        "track_package",
        "Track a parcel by its tracking number.",
        {"tracking_number": _string()},
        ("tracking_number",),
        lambda r: {"tracking_number": f"{r.choice(('1Z', 'TRK', 'PK'))}{r.randint(10**7, 10**8 - 1)}"},
        (
            "Where is my package {tracking_number}?",
            "Track parcel {tracking_number}.",
            "Can you check the delivery status of {tracking_number}?",
        ),
    ),
    ToolSpec(
        "calculate_tip",
        "Calculate the tip for a bill.",
        {"bill_amount": NUMBER, "tip_percent": INTEGER},
        ("bill_amount", "tip_percent"),
        lambda r: {"bill_amount": _amount(r), "tip_percent": r.choice((10, 12, 15, 18, 20, 25))},
        (
            "What's a {tip_percent} percent tip on a {bill_amount} bill?",
            "Calculate the tip for {bill_amount} at {tip_percent} percent.",
            "My bill is {bill_amount}. How much is a {tip_percent}% tip?",
        ),
    ),
    ToolSpec(
        "get_movie_showtimes",
        "Get showtimes of a movie in a city.",
        {"movie": _string(), "city": _string()},
        ("movie", "city"),
        lambda r: {"movie": r.choice(MOVIES), "city": r.choice(CITIES)},
        (
            "When is {movie} playing in {city}?",
            "Showtimes for {movie} in {city}, please.",
            "Where can I watch {movie} in {city} tonight?",
        ),
    ),
    ToolSpec(
        "define_word",
        "Look up the definition of an English word.",
        {"word": _string()},
        ("word",),
        lambda r: {"word": r.choice(WORDS)},
        ("What does '{word}' mean?", "Define the word {word}.", "Give me the definition of {word}."),
    ),
    ToolSpec(
        "order_taxi",
        "Order a taxi.",
        {"pickup": _string(), "destination": _string(), "passengers": INTEGER},
        ("pickup", "destination"),
        lambda r: {**_two(r, PLACES, "pickup", "destination"), "passengers": r.randint(2, 5)},
        (
            "Order a taxi from {pickup} to {destination}.",
            "Get me a cab from {pickup} to {destination} for {passengers} people.",
            "I need a taxi to {destination}, pick me up at {pickup}.",
        ),
    ),
    ToolSpec(
        "get_sports_score",
        "Get the latest result of a sports team.",
        {"team": _string()},
        ("team",),
        lambda r: {"team": r.choice(TEAMS)},
        (
            "What was the score of the {team} game?",
            "Did {team} win last night?",
            "Give me the latest {team} result.",
        ),
    ),
    ToolSpec(
        "check_flight_status",
        "Check the status of a flight by its number.",
        {"flight_number": _string()},
        ("flight_number",),
        lambda r: {"flight_number": f"{r.choice(AIRLINES)}{r.randint(100, 2999)}"},
        (
            "Is flight {flight_number} on time?",
            "What's the status of flight {flight_number}?",
            "Has {flight_number} landed yet?",
        ),
    ),
)
"""The demo tools, each with its schema, value pools and query templates."""

# -- conversations ----------------------------------------------------------------------------------------------------


class _Generator:
    """Draws conversations from one ``random.Random``, never repeating a query text."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def _unique(self, draw: Callable[[], tuple[str, Any] | None]) -> tuple[str, Any]:
        """Draw until a query text not seen before comes up (``draw`` returns ``None`` to reject a draw)."""
        for _ in range(1000):
            drawn = draw()
            if drawn is not None and drawn[0] not in self.seen:
                self.seen.add(drawn[0])
                return drawn
        raise RuntimeError("the value pools are too small for the number of conversations asked for")

    def _listed(self, relevant: Sequence[ToolSpec], extra: int) -> list[ToolSpec]:
        """The relevant tools plus ``extra`` others, in random order."""
        others = [tool for tool in TOOLS if tool not in relevant]
        listed = list(dict.fromkeys(relevant)) + self.rng.sample(others, extra)
        self.rng.shuffle(listed)
        return listed

    def single(self, tool: ToolSpec) -> tuple[str, list[ToolSpec], Any]:
        text, arguments = self._unique(lambda: tool.query(self.rng))
        return text, self._listed([tool], _DISTRACTORS), [(tool.name, arguments)]

    def parallel(self) -> tuple[str, list[ToolSpec], Any]:
        # One time in three the same tool twice (e.g. the weather in two cities), otherwise two different tools.
        first = self.rng.choice(TOOLS)
        second = first if self.rng.random() < 1 / 3 else self.rng.choice([t for t in TOOLS if t is not first])

        def draw() -> tuple[str, Any] | None:
            (text_a, args_a), (text_b, args_b) = first.query(self.rng), second.query(self.rng)
            if text_a == text_b or (first is second and args_a == args_b):
                return None  # the same request twice
            text = self.rng.choice(JOINERS).format(a=text_a, b=text_b)
            return text, [(first.name, args_a), (second.name, args_b)]

        text, calls = self._unique(draw)
        return text, self._listed([first, second], _DISTRACTORS), calls

    def no_tool(self) -> tuple[str, list[ToolSpec], Any]:
        def draw() -> tuple[str, str]:
            kind = self.rng.choices(("capital", "arithmetic", "small_talk"), weights=(3, 4, 3))[0]
            if kind == "capital":
                country, capital = self.rng.choice(CAPITALS)
                question = self.rng.choice(CAPITAL_QUESTIONS).format(country=country)
                return question, f"The capital of {country} is {capital}."
            if kind == "arithmetic":
                question, answer, operation = self.rng.choice(ARITHMETIC)
                a, b = self.rng.randint(2, 99), self.rng.randint(2, 20)
                return question.format(a=a, b=b), answer.format(a=a, b=b, r=operation(a, b))
            return self.rng.choice(SMALL_TALK)

        text, reply = self._unique(draw)
        return text, self._listed([], _DISTRACTORS + 1), reply


def _row(row_id: str, query: str, tools: Sequence[ToolSpec], answer: Any) -> dict[str, Any]:
    """An OpenAI chat row; ``answer`` is a text reply or a list of ``(name, arguments)`` calls."""
    assistant: dict[str, Any] = {"role": "assistant"}
    if isinstance(answer, str):
        assistant["content"] = answer
    else:
        assistant["content"] = None
        assistant["tool_calls"] = [
            {"type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
            for name, arguments in answer
        ]
    return {
        "id": row_id,
        "messages": [{"role": "user", "content": query}, assistant],
        "tools": [tool.openai() for tool in tools],
    }


def render_splits(seed: int = SEED) -> dict[str, str]:
    """The JSONL text of each split, exactly as the shipped files hold it."""
    generator = _Generator(seed)
    texts = {}
    for split, (singles, parallels, no_tools) in SPLITS.items():
        kinds = ["single"] * singles + ["parallel"] * parallels + ["no_tool"] * no_tools
        generator.rng.shuffle(kinds)
        order: list[ToolSpec] = []  # single calls cycle through the tools, so every tool is in every split
        rows = []
        for index, kind in enumerate(kinds):
            if kind == "single":
                if not order:
                    order = generator.rng.sample(TOOLS, len(TOOLS))
                query, tools, answer = generator.single(order.pop())
            elif kind == "parallel":
                query, tools, answer = generator.parallel()
            else:
                query, tools, answer = generator.no_tool()
            rows.append(_row(f"demo-{split}-{index:03d}", query, tools, answer))
        texts[split] = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return texts


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or, with ``--check``, verify) ``train.jsonl`` and ``test.jsonl``; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUTPUT_DIR, help="directory to write (default: the package's)")
    parser.add_argument("--check", action="store_true", help="only check that the files there are up to date")
    args = parser.parse_args(argv)
    stale = []
    for split, text in render_splits().items():
        path = args.out / f"{split}.jsonl"
        if args.check:
            if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        print(f"wrote {path} ({text.count(chr(10))} conversations)")
    if stale:
        print(f"out of date (run python -m slmswap.data._demo_generate): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
