"""The state an exported pipeline's tasks pass on: text KFP can carry, merged without loss."""

from __future__ import annotations

import re

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.pipelines.kfp.state import RunState, decode, encode, merge
from jupyter_mlops.pipelines.units import Unit


def _state(parent: str, *units: Unit) -> RunState:
    state = RunState(parent=parent, experiment_id="1", started=10.0)
    for unit in units:
        state.record(unit)
    return state


def test_a_state_travels_as_text_without_quotes_and_comes_back_whole() -> None:
    unit = Unit("train", 1, "train[a=2]", {"a": 2, "name": 'x "quoted"'}, status="ran")
    unit.run_id, unit.key, unit.produced = "r1", "k1", {"features": "d1"}
    state = _state("p", unit)
    state.pins["train"] = {"features": "d0"}
    state.checked["train"] = None
    text = encode(state)
    assert re.fullmatch(r"[A-Za-z0-9_=-]+", text)  # KFP splices it into JSON as is
    back = decode(text)
    assert back == state
    assert back.unit("train.1") == unit


def test_merge_keeps_every_unit_and_a_final_state_wins() -> None:
    queued = Unit("train", 0, "train[a=1]", {"a": 1}, status="queued", key="k0")
    ran = Unit("train", 0, "train[a=1]", {"a": 1}, status="ran", key="k0", run_id="r0")
    other = Unit("train", 1, "train[a=2]", {"a": 2}, status="cached", run_id="r9")
    first = _state("p", ran)
    first.step_runs["train"] = "s1"
    merged = merge([first, _state("p", queued, other)])
    assert merged.parent == "p" and merged.step_runs == {"train": "s1"}
    assert merged.unit("train.0") == ran  # not overwritten by the sweep task's "queued"
    assert merged.unit("train.1") == other
    assert merge([_state("p", queued), _state("p", ran)]).unit("train.0") == ran


def test_anything_else_is_refused_in_one_line() -> None:
    with pytest.raises(InvalidInput, match="not the output of an exported pipeline's task"):
        decode("not a state")
