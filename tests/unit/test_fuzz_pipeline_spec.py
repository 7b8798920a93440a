"""Generated ``pipeline.yaml`` documents: a valid spec or one clear InvalidInput, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.pipelines.spec import PipelineSpec, load_spec
from jupyter_mlops.testing.notebooks import code, params, write_notebook

_KEYS = st.sampled_from(["notebook", "params", "needs", "sweep", "name", "steps", "extra"])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, width=32),
    st.sampled_from(["a.ipynb", "missing.ipynb", "grid", "zip", "a", "b", "x"]),
    st.text(max_size=12),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(_KEYS | st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_STEP = st.dictionaries(_KEYS, _VALUES, max_size=4)
_DOC = st.one_of(
    st.fixed_dictionaries(
        {
            "name": _SCALARS,
            "steps": st.dictionaries(st.sampled_from(["a", "b", "c"]), _STEP | _VALUES, max_size=3),
        }
    ),
    st.dictionaries(_KEYS, _VALUES, max_size=3),
    _VALUES,
)
_ROOT = Path(tempfile.mkdtemp(prefix="mlops-fuzz-spec-"))
write_notebook(_ROOT / "a.ipynb", [params("x = 1\nn = 2"), code("y = x")])


def _check(text: str) -> None:
    path = _ROOT / "pipeline.yaml"
    path.write_text(text)
    try:
        spec = load_spec(path)
    except InvalidInput as exc:
        assert str(exc).strip(), "an error must say what is wrong"
    else:
        assert isinstance(spec, PipelineSpec)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOC)
def test_generated_documents_give_a_spec_or_a_clear_error(doc: object) -> None:
    _check(yaml.safe_dump(doc, sort_keys=False))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_gives_a_spec_or_a_clear_error(text: str) -> None:
    _check(text)
