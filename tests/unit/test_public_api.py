"""The public API is one table (``jupyter_mlops/_public.py``) and every name in it works.

The type checkers' view (the ``TYPE_CHECKING`` block of ``__init__.py``) must import exactly
the flat names, from the modules the table names; every name resolves to the object its
module defines; a namespace name is never shadowed by a submodule of the same name (the
import system would bind the module over it); old spellings warn and name the new one.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops import _public

INIT = Path(mlops.__file__)
ALL_NAMESPACED = [(ns, name) for ns, names in _public.NAMESPACES.items() for name in names]


def _type_checking_imports() -> dict[str, str]:
    """Name -> module (relative, as written) imported under ``if TYPE_CHECKING:``."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    found: dict[str, str] = {}
    for node in ast.walk(block):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                found[alias.asname or alias.name] = module
    return found


def test_the_type_checkers_see_exactly_the_table() -> None:
    seen = _type_checking_imports()
    expected = {name: module for name, (module, _) in _public.FLAT.items()}
    expected.update(dict.fromkeys(_public.NAMESPACES, "."))
    assert seen == expected


def test_all_lists_the_flat_names_and_the_namespaces() -> None:
    public = set(_public.FLAT) | set(_public.NAMESPACES)
    assert set(mlops.__all__) == public | {"__version__", "load_ipython_extension"}
    assert len(mlops.__all__) == len(set(mlops.__all__))
    assert public <= set(dir(mlops))


@pytest.mark.parametrize("name", sorted(_public.FLAT))
def test_a_flat_name_is_what_its_module_defines(name: str) -> None:
    module, attr = _public.FLAT[name]
    defined = getattr(importlib.import_module(module, "jupyter_mlops"), attr)
    assert getattr(mlops, name) is defined
    assert callable(defined)


@pytest.mark.parametrize(("space", "name"), ALL_NAMESPACED, ids="{}".format)
def test_a_namespaced_name_is_what_its_module_defines(space: str, name: str) -> None:
    module, attr = _public.NAMESPACES[space][name]
    defined = getattr(importlib.import_module(module, "jupyter_mlops"), attr)
    assert getattr(getattr(mlops, space), name) is defined
    assert callable(defined)
    assert name in dir(getattr(mlops, space))


def test_flat_and_namespaced_names_do_not_overlap_the_old_spellings() -> None:
    assert not set(_public.DEPRECATED) & (set(_public.FLAT) | set(_public.NAMESPACES))
    for new in [*_public.DEPRECATED.values(), *_public.DEPRECATED_CALLS.values()]:
        space, _, name = new.partition(".")
        assert name in _public.NAMESPACES[space], new


def test_no_namespace_is_shadowed_by_a_submodule_even_after_every_import() -> None:
    for space, names in _public.NAMESPACES.items():
        package = importlib.import_module(f"jupyter_mlops.{space}")
        submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}
        assert not submodules & set(names), f"{space}: a submodule hides a public name"
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(info.name)
        assert getattr(mlops, space) is package
        for name in names:
            assert callable(getattr(package, name)), f"mlops.{space}.{name}"
            assert not isinstance(getattr(package, name), type(package)), f"{space}.{name}"


@pytest.mark.parametrize("old", sorted(_public.DEPRECATED))
def test_an_old_spelling_still_works_and_names_the_new_one(old: str) -> None:
    new = _public.DEPRECATED[old]
    space, _, name = new.partition(".")
    with pytest.warns(DeprecationWarning, match=rf"mlops\.{old} .*use mlops\.{space}\.{name}$"):
        value = getattr(mlops, old)
    assert value is getattr(getattr(mlops, space), name)


def test_the_new_spellings_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for space, name in ALL_NAMESPACED:
            getattr(getattr(mlops, space), name)
        for name in _public.FLAT:
            getattr(mlops, name)


def test_calling_a_namespace_is_the_old_spelling_of_list(store: object) -> None:
    with pytest.warns(
        DeprecationWarning, match=r"mlops\.schedules\(\) .*mlops\.schedules\.list\(\)"
    ):
        old = mlops.schedules()
    assert old.equals(mlops.schedules.list())
    with pytest.warns(DeprecationWarning, match=r"mlops\.models\(\) .*mlops\.models\.list\(\)"):
        old = mlops.models()
    assert old.equals(mlops.models.list())


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'lod'"):
        _ = mlops.lod
    with pytest.raises(AttributeError, match="no attribute 'histroy'"):
        _ = mlops.models.histroy


def test_importing_the_package_and_its_namespaces_loads_no_service() -> None:
    code = (
        "import sys, jupyter_mlops as m; m.data; m.models; m.schedules.__name__; "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('mlflow', 'pandas')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_api_page_names_every_public_name_and_old_spelling() -> None:
    page = (INIT.parents[2] / "docs" / "python-api.md").read_text(encoding="utf-8")
    names = [f"`mlops.{name}`" for name in _public.FLAT]
    names += [f"`mlops.{space}.{name}`" for space, name in ALL_NAMESPACED]
    names += [f"| `mlops.{old}` | `mlops.{new}` |" for old, new in _public.DEPRECATED.items()]
    names += [
        f"| `mlops.{old}()` | `mlops.{new}()` |" for old, new in _public.DEPRECATED_CALLS.items()
    ]
    missing = [name for name in names if name not in page]
    assert not missing, "docs/python-api.md misses " + ", ".join(missing)
