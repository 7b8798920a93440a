"""Parsing ``key=value`` words typed after ``%mlops log``, ``params``, ``metrics`` and ``tag``."""

from __future__ import annotations

from IPython.core.error import UsageError

__all__ = ["parse_pairs", "parse_scalar"]


def parse_scalar(text: str) -> int | float | str:
    """Return ``text`` as an int or float when it is one, else unchanged."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_pairs(words: list[str], form: str, *, typed: bool) -> dict[str, object]:
    """Turn ``["lr=0.1", "model=rf"]`` into a dict, refusing malformed words.

    Parameters
    ----------
    words : list of str
        Words as split by the magic parser (quotes already removed).
    form : str
        The right form, quoted in errors (e.g. ``%mlops log k=v ... [--step N]``).
    typed : bool
        Turn numeric text into numbers.
    """
    pairs: dict[str, object] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"expected key=value, got {word!r}; the form is {form}")
        if key in pairs:
            raise UsageError(f"{key!r} is given twice; give each key once: {form}")
        pairs[key] = parse_scalar(value) if typed else value
    if not pairs:
        raise UsageError(f"nothing to log; the form is {form}")
    return pairs
