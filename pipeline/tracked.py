"""Text that remembers where each of its characters came from.

Every normalization stage is a list of edits on a `Tracked` text; composing the
edits keeps, for each output character, the span of the raw input it stands
for. That is what lets later stages cite the raw article.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Edit = tuple[int, int, str]
"""Replace text[start:end] with the string (edits are sorted and disjoint)."""


@dataclass
class Tracked:
    text: str
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    @classmethod
    def identity(cls, text: str) -> Tracked:
        return cls(text, list(range(len(text))), list(range(1, len(text) + 1)))

    @classmethod
    def mapped(cls, text: str, spans: Iterable[tuple[int, int]]) -> Tracked:
        spans = list(spans)
        if len(spans) != len(text):
            raise ValueError(f"{len(spans)} spans for {len(text)} characters")
        return cls(text, [s for s, _ in spans], [e for _, e in spans])

    @property
    def spans(self) -> list[tuple[int, int]]:
        return list(zip(self.starts, self.ends))

    def apply(self, edits: Iterable[Edit]) -> Tracked:
        """Apply disjoint edits; an equal-length replacement keeps per-character
        spans, any other replacement maps each new character to the whole
        replaced span (an insertion to the point where it was inserted)."""
        text, starts, ends = self.text, self.starts, self.ends
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        pos = 0
        for i, j, new in edits:
            if i < pos or j < i or j > len(text):
                raise ValueError(f"edit ({i}, {j}) overlaps or is out of range")
            out.append(text[pos:i])
            new_starts.extend(starts[pos:i])
            new_ends.extend(ends[pos:i])
            if new:
                out.append(new)
                if len(new) == j - i:
                    new_starts.extend(starts[i:j])
                    new_ends.extend(ends[i:j])
                else:
                    if j > i:
                        lo, hi = starts[i], ends[j - 1]
                    else:
                        lo = hi = starts[i] if i < len(text) else (ends[-1] if ends else 0)
                    new_starts.extend([lo] * len(new))
                    new_ends.extend([hi] * len(new))
            pos = j
        out.append(text[pos:])
        new_starts.extend(starts[pos:])
        new_ends.extend(ends[pos:])
        return Tracked("".join(out), new_starts, new_ends)

    def sub(self, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str | None]) -> Tracked:
        """Like `re.sub`, but `repl` may return None to leave a match alone."""
        edits = []
        for m in pattern.finditer(self.text):
            new = repl(m)
            if new is not None and new != m.group():
                edits.append((m.start(), m.end(), new))
        return self.apply(edits) if edits else self
