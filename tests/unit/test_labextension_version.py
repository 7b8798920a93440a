"""The labextension and the Python package announce one version (the handshake relies on it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jupyter_mlops import __version__

LABEXT = Path(__file__).resolve().parents[2] / "labextension"


def test_package_json_version_matches_python() -> None:
    package = json.loads((LABEXT / "package.json").read_text())
    assert package["name"] == "jupyter-mlops"
    assert package["version"] == __version__


def test_frontend_version_constant_matches_python() -> None:
    tokens = (LABEXT / "src" / "tokens.ts").read_text()
    found = re.search(r"export const VERSION = '([^']+)';", tokens)
    assert found is not None, "tokens.ts must define VERSION"
    assert found.group(1) == __version__


def test_server_extension_points_name_the_lazy_module() -> None:
    import jupyter_mlops

    points = jupyter_mlops._jupyter_server_extension_points()
    assert points == [{"module": "jupyter_mlops.server"}]
    labext = jupyter_mlops._jupyter_labextension_paths()
    assert labext == [{"src": "labextension", "dest": "jupyter-mlops"}]


def test_server_config_enables_the_extension() -> None:
    config = LABEXT.parent / "jupyter-config" / "server-config" / "jupyter_mlops.json"
    assert json.loads(config.read_text())["ServerApp"]["jpserver_extensions"] == {
        "jupyter_mlops": True
    }
