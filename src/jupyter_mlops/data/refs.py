"""Snapshot names and references: ``name``, ``name@v3`` and ``name@<digest prefix>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidInput

__all__ = ["NAME_RULE", "ParsedRef", "check_name", "parse_ref"]

NAME_RULE = "names are 1-128 characters of letters, digits, '_', '.' and '-'"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_VERSION = re.compile(r"v(\d+)")
_DIGEST = re.compile(r"[0-9a-f]{4,64}")
_FORMS = "give name, name@v3 or name@<digest prefix of 4+ hex digits>, e.g. train@v2"


def check_name(name: object) -> str:
    """Return ``name`` when it is a valid snapshot name, else raise :class:`InvalidInput`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidInput(f"invalid snapshot name {name!r}: {NAME_RULE}, e.g. train")
    return name


@dataclass(frozen=True)
class ParsedRef:
    """A parsed reference: a name and at most one of a version or a digest prefix."""

    name: str
    version: int | None = None
    digest_prefix: str | None = None


def parse_ref(text: object) -> ParsedRef:
    """Parse ``name``, ``name@v3``, ``name@3f9c`` (also ``mlops://name@v3``).

    Examples
    --------
    >>> parse_ref("train@v2")
    ParsedRef(name='train', version=2, digest_prefix=None)
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"invalid snapshot reference {text!r}; {_FORMS}")
    ref = text.strip().removeprefix("mlops://")
    name, sep, selector = ref.partition("@")
    try:
        check_name(name)
    except InvalidInput:
        raise InvalidInput(f"invalid snapshot reference {text!r}: {NAME_RULE}; {_FORMS}") from None
    if not sep:
        return ParsedRef(name)
    version = _VERSION.fullmatch(selector)
    if version and int(version.group(1)) > 0:
        return ParsedRef(name, version=int(version.group(1)))
    if _DIGEST.fullmatch(selector.lower()):
        return ParsedRef(name, digest_prefix=selector.lower())
    raise InvalidInput(f"invalid snapshot reference {text!r}; {_FORMS}")
