"""The command line's fast start: a command parsed from its own module, as the full parser does."""

from __future__ import annotations

import argparse

import pytest

from jupyter_mlops.cli import _FAST_COMMANDS, _parser, build_parser


def _command(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices[name]


@pytest.mark.parametrize("name", sorted(_FAST_COMMANDS))
def test_a_fast_command_parses_as_in_the_full_parser(name: str) -> None:
    alone = _command(_parser((_FAST_COMMANDS[name],)), name)
    full = _command(build_parser(), name)
    assert alone.format_help() == full.format_help()
