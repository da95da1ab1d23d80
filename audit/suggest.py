"""Did-you-mean: the nearest names to one the user typed (commands, profiles, rule ids, keys)."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Iterable


def close_matches(typed: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names nearest ``typed``, compared case-insensitively, in their own spelling."""
    by_folded: dict[str, str] = {}
    for name in known:
        by_folded.setdefault(name.casefold(), name)
    found = get_close_matches(typed.casefold(), list(by_folded), n=n, cutoff=0.6)
    return [by_folded[f] for f in found]


def did_you_mean(typed: str, known: Iterable[str]) -> str:
    """`` (did you mean 'KYC-001'?)`` or an empty string: ready to append to a message."""
    found = close_matches(typed, known)
    if not found:
        return ""
    return " (did you mean " + " or ".join(repr(f) for f in found) + "?)"


def fold_match(typed: str, known: Iterable[str]) -> str | None:
    """The one known name equal to ``typed`` but for case, or None."""
    matches = [k for k in known if k.casefold() == typed.casefold()]
    return matches[0] if len(matches) == 1 else None
