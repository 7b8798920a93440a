"""Every code block of README.md and docs/*.md runs as pasted.

Each page is read top to bottom in an empty project holding the example notebooks
(``example_notebooks/``, and its top-level notebooks at the root too, so ``train.ipynb``
is the example the pages name): ``python`` blocks are cells of one real kernel per page
(each block one cell, in the page's order; a page assumes ``import jupyter_mlops as mlops``
and ``%load_ext jupyter_mlops`` were run, as the README's tour does), ``bash`` blocks run
through ``bash -e`` in the project with ``jupyter mlops`` on ``PATH``. Only commands this
machine can run in a test are run (``jupyter mlops ...``, ``curl``, ``export``, ``kill``,
``until``/``sleep`` loops); a block with any other command (an install, ``make``, a
server) fails unless it says, on the line before its fence, why it cannot run here:

    <!-- docs-test: skip (needs a PostgreSQL server and an object store) -->

and this test lists those blocks and checks each gives a reason. Other fences
(``text``, ``yaml``, ``json``, ``toml``) are not code to run. The generated references
(``docs/magics.md``, ``docs/cli.md``) show one example per subcommand naming objects a
reference cannot define (``train_df``, a model ``clf``): each example is parsed by its
subcommand's own parser instead, as ``%mlops`` would parse it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = [pytest.mark.integration, pytest.mark.store_free]

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUN = ("python", "bash")
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    lang: str
    code: str
    skip: str | None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path`` with their language, code and skip reason."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        start = FENCE.match(lines[i])
        if start is None:
            i += 1
            continue
        indent, body, j = len(start["indent"]), [], i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            body.append(lines[j][indent:])
            j += 1
        before = [line for line in lines[:i] if line.strip()][-1:]
        marker = SKIP.search(before[0]) if before else None
        name = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
        found.append(
            Block(name, i + 1, start["lang"], "\n".join(body), marker["reason"] if marker else None)
        )
        i = j + 1
    return found


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".mlops").mkdir(parents=True)
    ignore = shutil.ignore_patterns("*.out.ipynb", "mlops-outputs", ".ipynb_checkpoints")
    shutil.copytree(REPO / "example_notebooks", root / "example_notebooks", ignore=ignore)
    for notebook in (REPO / "example_notebooks").glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    return root


def _errors(kc, code: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Run ``code`` in the kernel; the errors it showed (raised, or a traceback printed)."""
    problems: list[str] = []

    def keep(msg: dict) -> None:  # type: ignore[type-arg]
        content = msg["content"]
        if msg["msg_type"] == "error":
            problems.append(f"{content['ename']}: {content['evalue']}")
        elif msg["msg_type"] == "stream" and re.search(
            r"Traceback|Error in callback", content["text"]
        ):
            problems.append(content["text"])

    reply = kc.execute_interactive(code, output_hook=keep, timeout=600)
    if reply["content"]["status"] != "ok" and not problems:
        problems.append(reply["content"].get("evalue", "failed"))
    return problems


#: the commands a bash block may hold to be run here (``jupyter`` only as ``jupyter mlops``)
ALLOWED = {"jupyter", "cd", "curl", "export", "kill", "until", "do", "done", "sleep", "cat", "ls"}
PREAMBLE = "import jupyter_mlops as mlops\n%load_ext jupyter_mlops"


def _commands(code: str) -> list[str]:
    """The block's command lines: continuations joined, comments and blanks left out."""
    joined = re.sub(r"\\\n", " ", code)
    found = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            found.extend(part.strip() for part in re.split(r";|&&", line) if part.strip())
    return found


def _jupyter_ok(words: list[str]) -> bool:
    """``jupyter mlops ...`` and the two listings of installed extensions."""
    return (
        words[1:2] == ["mlops"]
        or words[1:4] in (["server", "extension", "list"],)
        or (words[1:3] == ["labextension", "list"])
    )


def _unrunnable(code: str) -> str | None:
    """The first command of the block this test does not run, if any."""
    for command in _commands(code):
        words = command.split()
        if words[0] not in ALLOWED or (words[0] == "jupyter" and not _jupyter_ok(words)):
            return command
    return None


def _shell(root: Path, code: str, env: dict[str, str]) -> tuple[int, str]:
    """Run ``code`` with bash in ``root``; its exit code and stderr (its processes ended)."""
    proc = subprocess.Popen(
        ["bash", "-e", "-o", "pipefail", "-c", code],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        err = "timed out after 600 s"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    return proc.returncode, err


def _generated(page: Path) -> bool:
    return page.read_text(encoding="utf-8").startswith("<!-- Generated by docs/generate.py")


RUNNABLE = [
    p for p in PAGES if not _generated(p) and any(b.lang in RUN and not b.skip for b in blocks(p))
]


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_block_of_the_page_runs_as_pasted(page: Path, tmp_path: Path) -> None:
    root = _project(tmp_path)
    scripts = os.path.dirname(sys.executable)
    env = {
        **os.environ,
        "MLOPS_HOME": str(root),
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for var in ("MLFLOW_TRACKING_URI", "MLOPS_DATA_URI", "MLOPS_EXPERIMENT", "MLOPS_RUN_ID"):
        env.pop(var, None)
    kernel = None
    failures = []
    try:
        for block in blocks(page):
            if block.lang not in RUN or block.skip:
                continue
            if block.lang == "python":
                if kernel is None:
                    kernel = start_new_kernel(kernel_name="python3", cwd=str(root), env=env)
                    assert _errors(kernel[1], PREAMBLE) == []
                problems = _errors(kernel[1], block.code)
                if problems:
                    failures.append(f"{block.where}: {' | '.join(problems)[:600]}")
            elif (command := _unrunnable(block.code)) is not None:
                failures.append(f"{block.where}: not run here: {command!r}; mark why (see top)")
            else:
                code, err = _shell(root, block.code, env)
                if code != 0:
                    failures.append(f"{block.where}: exit {code}: {err[-600:]}")
    finally:
        if kernel is not None:
            kernel[1].stop_channels()
            kernel[0].shutdown_kernel(now=True)
    assert failures == [], "\n".join(failures)


def test_blocks_not_run_here_are_few_and_say_why() -> None:
    skipped = [b for p in PAGES for b in blocks(p) if b.skip]
    for block in skipped:
        assert block.lang in RUN, f"{block.where}: a skip marker on a {block.lang!r} block"
        assert len(block.skip.split()) >= 3, f"{block.where}: say why it cannot run here"
    # installs, make targets of the checkout, servers that run until stopped, the team server
    assert len(skipped) <= 18, [f"{b.where} ({b.skip})" for b in skipped]


def test_the_block_reader_sees_fences_markers_and_indented_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n```python\nx = 1\n```\n\n<!-- docs-test: skip (needs a team server) -->\n\n"
        "```bash\nmlflow server\n```\n\n- item\n\n  ```text\n  usage\n  ```\n"
    )
    found = [(b.lang, b.code, b.skip) for b in blocks(page)]
    assert found == [
        ("python", "x = 1", None),
        ("bash", "mlflow server", "needs a team server"),
        ("text", "usage", None),
    ]


def test_every_example_of_the_magics_reference_parses() -> None:
    from IPython.utils.process import arg_split

    from jupyter_mlops import magics
    from jupyter_mlops.magics._registry import SUBCOMMANDS

    magics._load_features()
    examples = [b for b in blocks(REPO / "docs" / "magics.md") if b.lang == "python"]
    assert len(examples) == len(SUBCOMMANDS)
    for block in examples:
        line = magics._without_comment(block.code.lstrip("%"))
        name, _, rest = line.removeprefix("mlops ").partition(" ")
        SUBCOMMANDS[name].parser.parse_args(arg_split(rest, posix=True))


def test_only_commands_that_can_run_here_are_run() -> None:
    assert _unrunnable("jupyter mlops runs   # a comment\nexport A=1 && curl -s x") is None
    assert _unrunnable("until curl -sf x; do sleep 1; done\nkill %1") is None
    assert (
        _unrunnable("jupyter mlops run a.ipynb \\\n    -p lr 0.05\npip install x")
        == "pip install x"
    )
    assert _unrunnable("jupyter lab") == "jupyter lab"
    assert _unrunnable("make demo   # creates .venv") == "make demo"
