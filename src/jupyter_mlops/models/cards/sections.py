"""The sections of a model card a person writes: intended use, limitations, ethics, caveats.

Two sources, the second winning section by section: a markdown cell tagged
``model-card`` in the training notebook (its ``##`` headings name the sections), and
``register_model(..., card={...})`` (kept on the version as tag ``mlops.card``). They
live with the lineage, so a card regenerated after a promotion keeps them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ...errors import InvalidInput

__all__ = ["CARD_TAG", "CELL_TAG", "WRITTEN", "card_tag", "from_notebook", "merged", "title"]

CELL_TAG = "model-card"
CARD_TAG = "mlops.card"
#: the written sections a card always shows (a placeholder says when none was written)
WRITTEN = ("intended_use", "limitations", "ethical_considerations", "caveats")
_HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$", re.M)


def key(heading: str) -> str:
    """``Intended use`` -> ``intended_use``."""
    return re.sub(r"[^a-z0-9]+", "_", heading.strip().lower()).strip("_")


def title(section: str) -> str:
    """``intended_use`` -> ``Intended use``."""
    text = section.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def card_tag(card: Mapping[str, Any] | None) -> dict[str, str]:
    """The version tag holding ``card`` (section -> Markdown text), checked."""
    if card is None:
        return {}
    if not isinstance(card, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in card.items()
    ):
        raise InvalidInput(
            "card must map section names to Markdown text, e.g. "
            "card={'intended_use': 'Churn triage', 'limitations': 'EU customers only'}"
        )
    return {CARD_TAG: json.dumps({key(k): v for k, v in card.items()})}


def from_notebook(notebook: Mapping[str, Any] | None) -> dict[str, str]:
    """Sections of the markdown cells tagged ``model-card``, by their ``##`` headings.

    Text before the first heading is the ``description``.
    """
    out: dict[str, str] = {}
    for cell in (notebook or {}).get("cells") or []:
        tags = (cell.get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") != "markdown" or CELL_TAG not in tags:
            continue
        src = cell.get("source", "")
        text = "".join(src) if isinstance(src, list) else str(src)
        parts = _HEADING.split(text)
        if parts[0].strip():
            out["description"] = parts[0].strip()
        for heading, body in zip(parts[1::2], parts[2::2], strict=True):
            out[key(heading)] = body.strip()
    return out


def merged(notebook: Mapping[str, Any] | None, tags: Mapping[str, str]) -> dict[str, str]:
    """The written sections: the notebook's, overridden by ``register_model(card=...)``'s."""
    out = from_notebook(notebook)
    try:
        given = json.loads(tags.get(CARD_TAG) or "{}")
    except ValueError:
        given = {}
    out.update({str(k): str(v) for k, v in given.items()} if isinstance(given, dict) else {})
    return out
