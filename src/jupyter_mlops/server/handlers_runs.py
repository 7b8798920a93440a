"""Experiments, runs, run detail, metric history and artifacts."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import tornado.web

from ..errors import InvalidInput
from ..tracking.reading import browse
from .base import MlopsHandler

__all__ = ["routes"]

RUN_ID = r"(?P<run_id>[^/]+)"
#: bytes per chunk when streaming an artifact
_CHUNK = 256 * 1024
#: text-like artifacts served with a charset (everything else as its guessed type)
_TEXT_TYPES = {".log", ".txt", ".yaml", ".yml", ".json", ".py", ".md", ".csv", ".toml", ".ipynb"}


class ExperimentsHandler(MlopsHandler):
    """``GET experiments``: the active experiments."""

    @tornado.web.authenticated
    async def get(self) -> None:
        rows = await self.call(lambda: browse.experiments(self.state.client))
        self.reply({"experiments": rows})


class RunsHandler(MlopsHandler):
    """``GET runs``: one page of runs (filter, order, page token)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        ids = [i for i in self.get_query_arguments("experiment_id") if i]
        filter_string = self.get_query_argument("filter", "")
        order_by = [o for o in self.get_query_arguments("order_by") if o.strip()]
        size = self.int_arg("max_results", 100, 1, browse.MAX_PAGE)
        token = self.get_query_argument("page_token", None) or None
        state = self.state
        page = await self.call(
            lambda: browse.runs_page(
                state.client, state.settings.tracking_uri, ids, filter_string, order_by, size, token
            )
        )
        self.reply(page)


class RunHandler(MlopsHandler):
    """``GET runs/{run_id}``: params, metrics, tags and inputs of one run."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(lambda: browse.run_detail(self.state.client, run_id)))


class MetricHistoryHandler(MlopsHandler):
    """``GET runs/{run_id}/metric-history?key=...``: every logged value of some metrics."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        keys = [k for k in self.get_query_arguments("key") if k]
        history = await self.call(lambda: browse.metric_history(self.state.client, run_id, keys))
        self.reply({"run_id": run_id, "metrics": history})


class ArtifactsHandler(MlopsHandler):
    """``GET runs/{run_id}/artifacts?path=...``: the entries of one artifact folder."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        path = self.get_query_argument("path", "")
        files = await self.call(lambda: browse.list_artifacts(self.state.client, run_id, path))
        self.reply({"run_id": run_id, "path": path, "files": files})


class ArtifactDownloadHandler(MlopsHandler):
    """``GET runs/{run_id}/artifact?path=...``: the bytes of one artifact file."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        path = self.get_query_argument("path", "")
        if not path:
            raise InvalidInput("give the artifact to download, e.g. ?path=notebook/train.ipynb")
        scratch = self.state.scratch
        copy = await self.call(
            lambda: browse.artifact_file(self.state.client, run_id, path, scratch)
        )
        try:  # a download is this request's own copy: removed once sent (or abandoned)
            self._headers_for(copy.path)
            with copy.path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    self.write(chunk)
                    await self.flush()
        finally:
            copy.close()
        await self.finish()

    def _headers_for(self, file: Path) -> None:
        kind, _ = mimetypes.guess_type(file.name)
        if file.suffix.lower() in _TEXT_TYPES:
            kind = f"{kind or 'text/plain'}; charset=UTF-8"
        self.set_header("Content-Type", kind or "application/octet-stream")
        self.set_header("Content-Length", str(file.stat().st_size))
        self.set_header("X-Content-Type-Options", "nosniff")
        # Never rendered as a page of this origin, even for HTML or SVG artifacts.
        self.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
        disposition = "attachment" if self.get_query_argument("download", "") else "inline"
        self.set_header("Content-Disposition", f'{disposition}; filename="{_ascii(file.name)}"')


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)


def routes() -> list[tuple[str, Any]]:
    """Return ``(pattern, handler)`` pairs relative to the API prefix."""
    return [
        ("experiments", ExperimentsHandler),
        ("runs", RunsHandler),
        (f"runs/{RUN_ID}", RunHandler),
        (f"runs/{RUN_ID}/metric-history", MetricHistoryHandler),
        (f"runs/{RUN_ID}/artifacts", ArtifactsHandler),
        (f"runs/{RUN_ID}/artifact", ArtifactDownloadHandler),
    ]
