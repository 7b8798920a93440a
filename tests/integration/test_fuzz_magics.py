"""Generated ``%mlops`` lines through a real IPython shell (hypothesis).

Whatever the line, the outcome is either success or an IPython ``UsageError``
of exactly that type (its subclasses print a traceback) with one line of text,
and a rejected line leaves every store exactly as it was.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from jupyter_mlops.magics._registry import SUBCOMMANDS
from tests.store_state import store_state

pytestmark = pytest.mark.integration

#: left out: ``autolog`` patches ML libraries for the whole process (see test_mlflow_interop.py)
_SKIPPED = {"autolog"}
MAGIC_EXAMPLES = 150

_WORDS = [
    "--step", "--name", "--tag", "--status", "--alias", "--require", "--beat", "--on",
    "--dir", "--filter", "--order-by", "--max", "--key", "--threshold", "--columns",
    "--data", "--example", "--experiment", "--lower-is-better", "--rtol", "--", "-p",
    "=", "k=", "=v", "a=1", "a=nan", "a=inf", "b=-inf", "c=1e999", "d=", "x==1", "e=é",
    "FAILED", "RUNNING", "KILLED", "churn", "churn@v1", "churn/1", "churn@production",
    "1", "-1", "0", "99999999999999999999999", "''", '""', "'open", '"open', "\\",
    "metrics.acc >", "accuracy>=", "accuracy>=x", "acc>0.5", "@", "/x", "a,b", "In", "Out",
    "x" * 300, "\t", "ünïcode", "🙂", "\x00", "nan", "None", "{}", "[1]",
    "run", "show", "pipeline.yaml", "--jobs", "-j", "--only", "--from", "--force", "--resume",
    "--executor", "dask://", "local", "--quiet", "--page-size", "--no-live",
]  # fmt: skip


def _token() -> st.SearchStrategy[str]:
    free = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)
    return st.one_of(st.sampled_from(_WORDS), free)


def _lines() -> st.SearchStrategy[str]:
    from jupyter_mlops.magics import _load_features

    _load_features()  # %load_ext defers this to its warm-up thread
    names = sorted(set(SUBCOMMANDS) - _SKIPPED)
    structured = st.builds(
        lambda sub, words: " ".join([sub, *words]),
        st.sampled_from(names),
        st.lists(_token(), max_size=6),
    )
    return st.one_of(structured, structured, st.text(max_size=60))


def _touches_files(line: str) -> bool:
    """Whether a word names an existing path (``artifact /`` would upload it: a valid call)."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    return any(w.strip() and os.path.exists(w.strip()) for w in words)


@pytest.fixture
def shell_on_store(ip: Any, client: Any, store: Any) -> Any:
    from jupyter_mlops.magics import _load_features

    _load_features()
    return ip


@settings(
    max_examples=MAGIC_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(line=_lines())
@example(line='artifact ""')  # Path("") is the working folder: it was uploaded, then failed
@example(line="search =")  # a search's spec problems were listed on lines of their own
@example(line="end 'open \n 'open")  # argparse echoed a quoted newline as given
def test_generated_magic_lines_give_one_line_usage_errors(
    shell_on_store: Any, client: Any, store: Any, line: str
) -> None:
    assume(not _touches_files(line))
    before = store_state(client, store.data_uri)
    try:
        shell_on_store.run_line_magic("mlops", line)
        event("accepted")
    except UsageError as exc:
        event("UsageError")
        assert type(exc) is UsageError, f"{type(exc).__name__} shows a traceback"
        message = str(exc).strip()
        assert message and "\n" not in message, message
        assert "Traceback" not in message
        assert store_state(client, store.data_uri) == before, f"{line!r} failed but wrote"
