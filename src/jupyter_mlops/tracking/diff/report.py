"""The result of a run diff and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .code import CodeDiff

__all__ = ["SECTIONS", "RunDiff"]

#: every section, in the order shown; ``outputs`` is compared only when asked for
SECTIONS = ("code", "params", "metrics", "data", "env", "outputs")
DEFAULT_SECTIONS = ("code", "params", "metrics", "data", "env")


@dataclass
class RunDiff:
    """What changed from run ``a`` to run ``b``, section by section.

    A section is ``None`` when it was not asked for or one side lacks what it compares;
    :attr:`missing` then says which and why. Without ``everything`` a section holds only
    what differs.

    Attributes
    ----------
    a, b : dict
        ``label``, ``run_id``, ``experiment_id`` and ``notebook`` (the stored notebook).
    code : CodeDiff or None
        Cells added, removed, moved and modified (each with a unified diff), and the
        injected parameters that differ.
    params : list of dict or None
        ``{"key", "a", "b"}``.
    metrics : list of dict or None
        ``{"key", "a", "b", "difference", "ratio"}``, and ``history`` (``{"a": [[step,
        value], ...], "b": ...}``) for metrics logged at several steps.
    data : list of dict or None
        Input snapshots by name: ``a``, ``b`` (``{"ref", "digest"}``), ``same``, and the
        data diff ``summary`` of two versions.
    env : dict or None
        ``fields`` (python, kernel, git_commit, git_dirty: ``[a, b]``) and ``packages``
        (``added``, ``removed``, ``changed``).
    outputs : list of dict or None
        Code cells whose outputs differ: ``a_index``, ``b_index``, ``diff``.
    missing : list of str
        What could not be compared, in words.
    """

    a: dict[str, Any]
    b: dict[str, Any]
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    everything: bool = False
    code: CodeDiff | None = None
    params: list[dict[str, Any]] | None = None
    metrics: list[dict[str, Any]] | None = None
    data: list[dict[str, Any]] | None = None
    env: dict[str, Any] | None = None
    outputs: list[dict[str, Any]] | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """True when no compared section shows a difference."""
        changed_code = self.code is not None and (
            any(c.kind != "unchanged" for c in self.code.cells) or bool(self.code.parameters)
        )
        rows = [self.params, self.metrics, self.outputs]
        changed_rows = any(
            r and any(x.get("a") != x.get("b") or "diff" in x for x in r) for r in rows
        )
        changed_data = any(not row["same"] for row in self.data or [])
        env = self.env or {"fields": {}, "packages": {}}
        changed_env = any(v[0] != v[1] for v in env["fields"].values()) or any(
            env["packages"].get(k) for k in ("added", "removed", "changed")
        )
        return not (changed_code or changed_rows or changed_data or changed_env)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``jupyter mlops diff --json``); :meth:`from_dict` reads it back."""
        return {
            "a": self.a,
            "b": self.b,
            "sections": list(self.sections),
            "all": self.everything,
            "code": self.code.to_dict() if self.code is not None else None,
            "params": self.params,
            "metrics": self.metrics,
            "data": self.data,
            "env": self.env,
            "outputs": self.outputs,
            "missing": list(self.missing),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RunDiff:
        """The diff a :meth:`to_dict` document describes."""
        code = doc.get("code")
        return cls(
            a=doc["a"],
            b=doc["b"],
            sections=tuple(doc.get("sections", DEFAULT_SECTIONS)),
            everything=bool(doc.get("all", False)),
            code=CodeDiff.from_dict(code) if code is not None else None,
            params=doc.get("params"),
            metrics=doc.get("metrics"),
            data=doc.get("data"),
            env=doc.get("env"),
            outputs=doc.get("outputs"),
            missing=list(doc.get("missing", [])),
        )

    def to_html(self) -> str:
        """A self-contained HTML fragment (every user text escaped), as ``%mlops diff`` shows."""
        from .render import to_html

        return to_html(self)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        from .render import to_text

        return to_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))
