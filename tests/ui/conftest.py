"""Fixtures of the browser tests: one headless Chromium per test file, a fresh page per test.

Each test file has its own ``lab`` fixture (what it serves differs); the plain
functions for starting Lab and Chromium are in ``lab_server.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.lab_server import chromium


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    # pytest-jupyter (loaded by the REST tests) closes the current loop after each
    # test; here that would be Playwright's own loop, so the browser tests opt out.
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    yield None


@pytest.fixture
def viewport() -> dict[str, int]:
    """The page size; a test file overrides this fixture for another."""
    return {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    """A page in a context of its own; ``page.dialogs`` collects (and dismisses) any dialog."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    try:
        yield page
    finally:
        context.close()
