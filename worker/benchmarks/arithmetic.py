"""A seeded arithmetic benchmark: word problems with integer answers, from one step to four steps.

`arithmetic_problems(seed, count)` makes the same problems on every run and platform: problem i is drawn
from its own `random.Random` seeded with the string "arithmetic:{seed}:{i}" (string seeds are hashed with
SHA-512, not with `hash()`), so the first N problems of any count are the same N problems. Levels cycle
1, 2, ..., LEVELS so that any prefix holds every level:

1. one addition or subtraction of small numbers;
2. one multiplication or exact division;
3. two steps (a product and a sum or a difference);
4. three steps;
5. four steps (totals, change, equal shares).

Each row is ``{"key", "problem", "answer", "level", "skill"}``; the answer is a non-negative integer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

GENERATOR_VERSION = 1
DEFAULT_SEED = 0
DEFAULT_COUNT = 200
LEVELS = 5

_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jack", "Kira", "Liam")
_ITEMS = (
    "apples",
    "marbles",
    "stickers",
    "cards",
    "pencils",
    "shells",
    "stamps",
    "cookies",
    "beads",
    "coins",
)
_CONTAINERS = ("box", "bag", "jar", "crate", "basket", "tray")
_THINGS = ("book", "toy car", "ticket", "notebook", "kite", "puzzle")

Row = dict[str, Any]


def _level1(rng: random.Random) -> tuple[str, int, str]:
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    a, b = rng.randint(3, 20), rng.randint(2, 15)
    if rng.random() < 0.5:
        return (
            f"{name} has {a} {item}. {name} gets {b} more. How many {item} does {name} have now?",
            a + b,
            "add",
        )
    a, b = max(a, b) + rng.randint(1, 9), min(a, b)
    return f"{name} had {a} {item} and gave {b} of them away. How many {item} are left?", a - b, "subtract"


def _level2(rng: random.Random) -> tuple[str, int, str]:
    item, container = rng.choice(_ITEMS), rng.choice(_CONTAINERS)
    a, b = rng.randint(3, 12), rng.randint(2, 9)
    if rng.random() < 0.5:
        return (
            f"Each {container} holds {a} {item}. How many {item} are in {b} {container}s?",
            a * b,
            "multiply",
        )
    name = rng.choice(_NAMES)
    return (
        f"{name} shares {a * b} {item} equally among {b} friends. How many {item} does each friend get?",
        a,
        "divide",
    )


def _level3(rng: random.Random) -> tuple[str, int, str]:
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    if rng.random() < 0.5:
        a, b, c = rng.randint(5, 30), rng.randint(2, 6), rng.randint(3, 10)
        return (
            f"{name} has {a} {item}. {name} buys {b} packs with {c} {item} in each pack. "
            f"How many {item} does {name} have now?",
            a + b * c,
            "multiply-add",
        )
    thing = rng.choice(_THINGS)
    b, c = rng.randint(2, 6), rng.randint(3, 12)
    a = b * c + rng.randint(1, 40)
    return (
        f"{name} has {a} dollars and buys {b} {thing}s that cost {c} dollars each. "
        f"How many dollars does {name} have left?",
        a - b * c,
        "multiply-subtract",
    )


def _level4(rng: random.Random) -> tuple[str, int, str]:
    if rng.random() < 0.5:
        a, b = rng.randint(3, 9), rng.randint(4, 12)
        c, d = rng.randint(1, a * b - 1), rng.randint(2, 20)
        return (
            f"A garden has {a} rows of {b} trees. {c} trees are cut down, and then {d} new trees are "
            "planted. How many trees are in the garden now?",
            a * b - c + d,
            "multiply-subtract-add",
        )
    name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
    a, b = rng.randint(5, 20), rng.randint(3, 7)
    c = rng.randint(2, a * b // 2)
    d = rng.randint(1, a * b - c)
    return (
        f"{name} earns {a} dollars a day for {b} days, then spends {c} dollars on a {thing} and {d} dollars "
        f"on lunch. How many dollars does {name} have left?",
        a * b - c - d,
        "multiply-subtract-subtract",
    )


def _level5(rng: random.Random) -> tuple[str, int, str]:
    if rng.random() < 0.5:
        e = rng.randint(2, 6)
        while True:
            a, b, c, d = rng.randint(2, 8), rng.randint(4, 12), rng.randint(2, 8), rng.randint(3, 10)
            if (a * b + c * d) % e == 0:
                break
        return (
            f"A school orders {a} boxes of {b} pencils and {c} boxes of {d} pens. All the pencils and pens "
            f"are shared equally among {e} classes. How many items does each class get?",
            (a * b + c * d) // e,
            "multiply-multiply-add-divide",
        )
    name = rng.choice(_NAMES)
    a, b, c, d = rng.randint(2, 6), rng.randint(3, 15), rng.randint(2, 8), rng.randint(1, 5)
    total = a * b + c * d
    paid = (total // 50 + 1) * 50
    return (
        f"{name} buys {a} notebooks at {b} dollars each and {c} pens at {d} dollars each, and pays with "
        f"{paid} dollars. How many dollars of change does {name} get?",
        paid - total,
        "multiply-multiply-add-subtract",
    )


_BY_LEVEL: dict[int, Callable[[random.Random], tuple[str, int, str]]] = {
    1: _level1,
    2: _level2,
    3: _level3,
    4: _level4,
    5: _level5,
}


def arithmetic_problem(seed: int, index: int) -> Row:
    """Problem `index` (0-based) of the benchmark made from `seed`; the same on every run and platform."""
    level = index % LEVELS + 1
    statement, answer, skill = _BY_LEVEL[level](random.Random(f"arithmetic:{seed}:{index}"))
    if (
        answer < 0
    ):  # every generator keeps its answer non-negative; a change that breaks that must fail loudly
        raise AssertionError(f"negative answer for problem {index}")
    return {
        "key": f"arith-{index:03d}",
        "problem": statement,
        "answer": str(answer),
        "level": level,
        "skill": skill,
    }


def arithmetic_problems(seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT) -> list[Row]:
    """The first `count` problems made from `seed`, as benchmark rows (distinct statements)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    rows: list[Row] = []
    seen: set[str] = set()
    index = 0
    while len(rows) < count:
        row = arithmetic_problem(seed, index)
        index += 1
        if row["problem"] in seen:  # a repeated draw (rare at level 1) is skipped, keeping keys stable
            continue
        seen.add(row["problem"])
        rows.append(row)
    return rows
