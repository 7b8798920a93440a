"""Small notebooks and pipeline files for the pipeline tests (written as plain JSON)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["Cell", "code", "markdown", "params", "write_notebook", "write_pipeline"]

Cell = tuple[str, str, list[str]]  # (cell_type, source, tags)


def code(source: str, *tags: str) -> Cell:
    """A code cell."""
    return ("code", source, list(tags))


def params(source: str) -> Cell:
    """The cell tagged ``parameters``."""
    return ("code", source, ["parameters"])


def markdown(source: str) -> Cell:
    """A markdown cell."""
    return ("markdown", source, [])


def write_notebook(path: Path, cells: list[Cell], *, outputs: list | None = None) -> Path:
    """Write a python3 notebook; ``outputs`` (if given) go on every code cell."""
    doc = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "cells": [
            {
                "cell_type": kind,
                "metadata": {"tags": tags},
                "source": src,
                "id": f"c{i}",
                **(
                    {"outputs": list(outputs or []), "execution_count": None}
                    if kind == "code"
                    else {}
                ),
            }
            for i, (kind, src, tags) in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(doc, indent=1))
    return path


def write_pipeline(path: Path, text: str) -> Path:
    """Write ``pipeline.yaml`` (dedented)."""
    import textwrap

    path.write_text(textwrap.dedent(text).lstrip())
    return path
