"""A :class:`RunDiff` as HTML (notebooks) and as text (the terminal). Every user text is escaped."""

from __future__ import annotations

import difflib
import json
from html import escape
from typing import Any, Protocol

from .code import CellChange, CodeDiff

__all__ = ["side_by_side", "to_html", "to_text"]


class RunDiff(Protocol):
    """What rendering reads of a :class:`~.report.RunDiff` (which imports this module)."""

    a: dict[str, Any]
    b: dict[str, Any]
    code: CodeDiff | None
    params: list[dict[str, Any]] | None
    metrics: list[dict[str, Any]] | None
    data: list[dict[str, Any]] | None
    env: dict[str, Any] | None
    outputs: list[dict[str, Any]] | None
    missing: list[str]

    @property
    def identical(self) -> bool: ...


# JupyterLab's theme variables, with fallbacks for other frontends: light and dark alike.
_STYLE = """<style>
.mlops-diff{font-family:var(--jp-ui-font-family,sans-serif);color:var(--jp-ui-font-color1,inherit)}
.mlops-diff table{border-collapse:collapse;margin:4px 0 12px}
.mlops-diff td,.mlops-diff th{border:1px solid var(--jp-border-color2,#ccc);padding:2px 6px;
 text-align:left;vertical-align:top}
.mlops-diff .sbs td{font-family:var(--jp-code-font-family,monospace);white-space:pre;
 font-size:var(--jp-code-font-size,12px);border:none;width:50%}
.mlops-diff .del{background:rgba(255,80,80,.22)}
.mlops-diff .ins{background:rgba(60,200,90,.22)}
.mlops-diff .note{color:var(--jp-ui-font-color2,#777)}
.mlops-diff svg polyline{fill:none;stroke-width:1.5}
</style>"""
_A_COLOR, _B_COLOR = "#1f77b4", "#ff7f0e"


def _val(value: Any) -> str:
    return "—" if value is None else escape(str(value))


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def side_by_side(a: str, b: str) -> list[tuple[str | None, str | None, str]]:
    """Rows ``(line of a, line of b, tag)``, tag one of difflib's opcodes (``equal``, ...)."""
    la, lb = a.splitlines(), b.splitlines()
    rows: list[tuple[str | None, str | None, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=la, b=lb, autojunk=False).get_opcodes():
        left, right = la[i1:i2], lb[j1:j2]
        for k in range(max(len(left), len(right))):
            rows.append(
                (left[k] if k < len(left) else None, right[k] if k < len(right) else None, tag)
            )
    return rows


def _cell_html(cell: CellChange) -> str:
    where = f"a[{_val(None if cell.a_index is None else cell.a_index + 1)}] → " + (
        f"b[{_val(None if cell.b_index is None else cell.b_index + 1)}]"
    )
    head = f"<p><b>{escape(cell.kind)}</b> {escape(cell.cell_type)} cell {where}</p>"
    if cell.kind == "moved":
        return head
    rows = []
    for left, right, tag in side_by_side(cell.a_source or "", cell.b_source or ""):
        lc = " class='del'" if tag != "equal" and left is not None else ""
        rc = " class='ins'" if tag != "equal" and right is not None else ""
        rows.append(f"<tr><td{lc}>{escape(left or '')}</td><td{rc}>{escape(right or '')}</td></tr>")
    return head + "<table class='sbs'>" + "".join(rows) + "</table>"


def _curve(history: dict[str, list[list[float]]]) -> str:
    points = [p for side in ("a", "b") for p in history.get(side, []) if p[1] is not None]
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    w, h = 220, 60

    def line(side: str, color: str) -> str:
        pts = " ".join(
            f"{(x - x0) / ((x1 - x0) or 1) * w:.1f},{h - (y - y0) / ((y1 - y0) or 1) * h:.1f}"
            for x, y in history.get(side, [])
            if y is not None
        )
        return f"<polyline points='{pts}' stroke='{color}'/>"

    return (
        f"<svg width='{w}' height='{h}' role='img' aria-label='metric history'>"
        f"{line('a', _A_COLOR)}{line('b', _B_COLOR)}</svg>"
    )


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _code_html(d: RunDiff) -> str:
    if d.code is None:
        return ""
    counts = d.code.counts()
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    parts = [f"<h4>Code</h4><p class='note'>{escape(summary or 'no cells')}</p>"]
    if d.code.parameters:
        rows = [[escape(k), _val(v[0]), _val(v[1])] for k, v in d.code.parameters.items()]
        parts.append("<p>injected parameters</p>" + _table(["parameter", "a", "b"], rows))
    parts += [_cell_html(c) for c in d.code.cells if c.kind != "unchanged"]
    return "".join(parts)


def _values_html(d: RunDiff) -> str:
    parts = []
    if d.params is not None:
        rows = [[escape(r["key"]), _val(r["a"]), _val(r["b"])] for r in d.params]
        parts.append("<h4>Params</h4>" + (_table(["param", "a", "b"], rows) if rows else ""))
    if d.metrics is not None:
        rows = [
            [
                escape(r["key"]),
                _num(r["a"]),
                _num(r["b"]),
                _num(r["difference"]),
                _num(r["ratio"]),
                _curve(r.get("history") or {}),
            ]
            for r in d.metrics
        ]
        head = ["metric", "a", "b", "b − a", "b / a", "history (a blue, b orange)"]
        parts.append("<h4>Metrics</h4>" + (_table(head, rows) if rows else ""))
    return "".join(parts)


def _data_html(d: RunDiff) -> str:
    if d.data is None:
        return ""
    rows = []
    for r in d.data:
        a, b = r["a"] or {}, r["b"] or {}
        what = "same" if r["same"] else _val(r.get("error")) if "error" in r else ""
        if "summary" in r:
            what = escape(json.dumps(r["summary"], default=str))
        rows.append([escape(r["name"]), _val(a.get("ref")), _val(b.get("ref")), what])
    return "<h4>Data</h4>" + (_table(["input", "a", "b", "difference"], rows) if rows else "")


def _env_html(d: RunDiff) -> str:
    if d.env is None:
        return ""
    rows = [[escape(k), _val(v[0]), _val(v[1])] for k, v in d.env["fields"].items()]
    pk = d.env["packages"]
    rows += [[escape(n), "—", _val(v)] for n, v in pk.get("added", {}).items()]
    rows += [[escape(n), _val(v), "—"] for n, v in pk.get("removed", {}).items()]
    rows += [[escape(n), _val(v[0]), _val(v[1])] for n, v in pk.get("changed", {}).items()]
    return "<h4>Environment</h4>" + (_table(["", "a", "b"], rows) if rows else "")


def to_html(d: RunDiff) -> str:
    """The diff as one HTML fragment with its own (theme-aware) style."""
    head = (
        f"<p><b>a</b> {escape(str(d.a.get('label')))} &nbsp; "
        f"<b>b</b> {escape(str(d.b.get('label')))}</p>"
    )
    notes = "".join(f"<p class='note'>{escape(m)}</p>" for m in d.missing)
    body = _code_html(d) + _values_html(d) + _data_html(d) + _env_html(d)
    if d.outputs is not None:
        body += "<h4>Outputs</h4>" + "".join(f"<pre>{escape(o['diff'])}</pre>" for o in d.outputs)
    if d.identical:
        body += "<p>no differences</p>"
    return f"<div class='mlops-diff'>{_STYLE}{head}{notes}{body}</div>"


def _text_code(d: RunDiff) -> list[str]:
    if d.code is None:
        return []
    counts = ", ".join(f"{n} {k}" for k, n in d.code.counts().items() if n)
    lines = [f"== code: {counts}"]
    for k, (va, vb) in d.code.parameters.items():
        lines.append(f"  parameter {k}: {va!r} -> {vb!r}")
    for cell in d.code.cells:
        if cell.kind == "unchanged":
            continue
        ia = "-" if cell.a_index is None else cell.a_index + 1
        ib = "-" if cell.b_index is None else cell.b_index + 1
        lines.append(f"  {cell.kind} {cell.cell_type} cell a[{ia}] -> b[{ib}]")
        lines += ["    " + ln for ln in cell.diff.splitlines()]
    return lines


def to_text(d: RunDiff) -> str:
    """The diff for a terminal."""
    lines = [f"a: {d.a['label']}", f"b: {d.b['label']}", *(f"! {m}" for m in d.missing)]
    lines += _text_code(d)
    if d.params is not None:
        lines.append(f"== params: {len(d.params)}")
        lines += [f"  {r['key']}: {r['a']} -> {r['b']}" for r in d.params]
    if d.metrics is not None:
        lines.append(f"== metrics: {len(d.metrics)}")
        lines += [
            f"  {r['key']}: {_num(r['a'])} -> {_num(r['b'])}  "
            f"(b-a {_num(r['difference'])}, b/a {_num(r['ratio'])})"
            for r in d.metrics
        ]
    if d.data is not None:
        lines.append(f"== data: {len(d.data)}")
        for r in d.data:
            a, b = (r["a"] or {}).get("ref"), (r["b"] or {}).get("ref")
            extra = "same" if r["same"] else json.dumps(r.get("summary") or r.get("error"))
            lines.append(f"  {r['name']}: {a} -> {b}  {extra}")
    if d.env is not None:
        pk = d.env["packages"]
        lines.append("== env")
        lines += [f"  {k}: {v[0]} -> {v[1]}" for k, v in d.env["fields"].items()]
        lines += [f"  + {n} {v}" for n, v in pk.get("added", {}).items()]
        lines += [f"  - {n} {v}" for n, v in pk.get("removed", {}).items()]
        lines += [f"  ~ {n} {v[0]} -> {v[1]}" for n, v in pk.get("changed", {}).items()]
    for o in d.outputs or []:
        lines += ["== outputs", *("  " + ln for ln in o["diff"].splitlines())]
    if d.identical:
        lines.append("no differences")
    return "\n".join(lines)
