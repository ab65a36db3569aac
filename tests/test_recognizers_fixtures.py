"""Figures and dates from the Microsoft Recognizers-Text Chinese specs (see tests/fixtures/README.md).

Expected values come from the specs' own resolutions, mapped to this project's fields.
"""

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.periods import parse_period
from pipeline.values import parse_value

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> list[dict]:
    with open(FIXTURES / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


VALUES = load("recognizers_values.jsonl")
PERIODS = load("recognizers_periods.jsonl")


def approx(number):
    return None if number is None else pytest.approx(number, rel=1e-9)


@pytest.mark.parametrize("case", VALUES, ids=[c["text"] for c in VALUES])
def test_value(case):
    v = parse_value(case["text"], case["before"], case["after"])
    got = {"value": v.value, "unit": v.unit, "qualifier": v.qualifier, "value_max": v.value_max}
    expected = {"value": approx(case["value"]), "unit": case["unit"], "qualifier": case["qualifier"],
                "value_max": approx(case["value_max"])}
    assert got == expected


@pytest.mark.parametrize("case", PERIODS, ids=[c["text"] for c in PERIODS])
def test_period(case):
    p = parse_period(case["text"], published=date.fromisoformat(case["published"]))
    assert {"start": p.start, "end": p.end} == {"start": case["start"], "end": case["end"]}
