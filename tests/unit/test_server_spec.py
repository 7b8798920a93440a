"""The OpenAPI document describes every route the server extension registers."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from jupyter_mlops.server.routes import all_routes

SPEC = Path(__file__).resolve().parents[2] / "specification" / "openapi.yaml"
_METHODS = ("get", "post", "put", "patch", "delete")


def _spec_paths() -> dict[str, set[str]]:
    doc = yaml.safe_load(SPEC.read_text())
    return {path: {m for m in ops if m in _METHODS} for path, ops in doc["paths"].items()}


def _as_openapi(pattern: str) -> str:
    return "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)


def test_every_route_and_method_is_documented() -> None:
    documented = _spec_paths()
    for pattern, handler in all_routes():
        path = _as_openapi(pattern)
        assert path in documented, f"{path} is served but missing from {SPEC.name}"
        served = {m for m in _METHODS if m.upper() in handler.__dict__ or m in handler.__dict__}
        assert served, f"{handler.__name__} serves no method"
        assert served <= documented[path], f"{path}: {served - documented[path]} undocumented"


def test_documented_paths_exist_or_belong_to_a_missing_feature() -> None:
    served = {_as_openapi(p) for p, _ in all_routes()}
    for path in _spec_paths():
        if path not in served:
            assert path.split("/")[1] in {"models", "snapshots", "notebooks", "headless"}, (
                f"{path} is documented but no handler serves it"
            )
