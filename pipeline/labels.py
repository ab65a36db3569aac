"""The label and relation contract (../shared/spec/LABELS.md v1.1), in one place."""

from __future__ import annotations

ENTITY_LABELS: tuple[str, ...] = ("OFFICIAL", "PERSON", "TITLE", "AGENCY", "ORG", "PLACE", "CAMPAIGN", "STAT", "DATE")

# relation label -> (head label, child label)
RELATIONS: dict[str, tuple[str, str]] = {"AGENCY": ("STAT", "AGENCY"), "PERIOD": ("STAT", "DATE")}

# relations a head may carry at most once
SINGLE_RELATIONS: frozenset[str] = frozenset({"PERIOD"})
