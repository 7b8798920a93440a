"""A card's facts as Markdown in the Hugging Face model-card layout, and as HTML.

YAML front matter (``library_name``, ``tags``, ``datasets``, ``model-index`` with the
evaluation results) then Markdown sections. Generated cells of tables are escaped; the
written sections are Markdown, and the HTML escapes any raw HTML they hold.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .sections import WRITTEN, title

__all__ = ["to_html", "to_markdown"]

_LIBRARIES = {"sklearn": "sklearn", "pyfunc": "mlflow"}
_PLACEHOLDER = "_Not written yet: add a `## {}` section to the markdown cell tagged `model-card`._"


def _cell(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _front_matter(facts: dict[str, Any]) -> str:
    import yaml

    model = facts["model"]
    metrics = (facts.get("run") or {}).get("metrics") or {}
    evaluation = facts.get("evaluation") or {}
    results = {**metrics, **(evaluation.get("metrics") or {})}
    doc: dict[str, Any] = {
        "library_name": _LIBRARIES.get(model["flavor"], model["flavor"] or "mlflow"),
        "tags": ["jupyter-mlops", "mlflow", *([model["flavor"]] if model["flavor"] else [])],
        "datasets": sorted({s["ref"] or s["name"] for s in facts["snapshots"]}),
        "model-index": [
            {
                "name": f"{model['name']} v{model['version']}",
                "results": [
                    {
                        "task": {"type": evaluation.get("task", "")},
                        "metrics": [
                            {"type": k, "name": k, "value": v} for k, v in sorted(results.items())
                        ],
                    }
                ],
            }
        ],
    }
    return "---\n" + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True) + "---\n"


def _when(ms: Any) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(int(ms) / 1000, timezone.utc).isoformat(timespec="seconds")


def _details(facts: dict[str, Any]) -> list[str]:
    m, run = facts["model"], facts.get("run") or {}
    rows = [
        ["Model", m["name"]],
        ["Version", m["version"]],
        ["Aliases", ", ".join(m["aliases"]) or "none"],
        ["Flavor", m["flavor"]],
        ["Registered", _when(m["created_ms"])],
        ["Training run", f"{run.get('name', '')} ({run.get('run_id', 'deleted')})"],
        ["Notebook", run.get("notebook")],
        ["Git commit", f"{run.get('git_commit') or '—'} (dirty: {run.get('git_dirty') or '—'})"],
        ["Trained by", run.get("user")],
    ]
    out = ["## Model Details", "", _table(["", ""], rows), ""]
    if m["description"]:
        out += [m["description"], ""]
    return out


def _written(facts: dict[str, Any]) -> list[str]:
    sections = dict(facts["sections"])
    out = []
    if "description" in sections:
        out += ["## Model Description", "", sections.pop("description"), ""]
    for name in [*WRITTEN, *sorted(set(sections) - set(WRITTEN))]:
        body = sections.get(name) or _PLACEHOLDER.format(title(name))
        out += [f"## {title(name)}", "", body, ""]
    return out


def _training(facts: dict[str, Any]) -> list[str]:
    run = facts.get("run") or {}
    out = ["## Training Data", ""]
    for s in facts["snapshots"]:
        schema = s.get("schema") or {}
        columns = schema.get("mlflow_colspec") or schema.get("columns") or []
        profile = s.get("profile") or {}
        out += [f"### {s['ref'] or s['name']} ({s.get('context') or 'input'})", ""]
        out += [f"Digest `{s['digest']}`. Profile: `{json.dumps(profile, default=str)[:300]}`", ""]
        if isinstance(columns, list) and columns:
            rows = [[c.get("name"), c.get("type")] for c in columns if isinstance(c, dict)]
            out += [_table(["column", "type"], rows), ""]
    if not facts["snapshots"]:
        out += ["No snapshot was recorded on the training run.", ""]
    if run.get("validation_anomalies") is not None:
        out += [f"Data validation: {run['validation_anomalies']:g} anomalies.", ""]
    params = run.get("params") or {}
    out += ["## Training Procedure", ""]
    out += [_table(["param", "value"], [[k, v] for k, v in params.items()]) if params else "—", ""]
    return out


def _evaluation(facts: dict[str, Any]) -> list[str]:
    run, ev = facts.get("run") or {}, facts.get("evaluation") or {}
    metrics = {**(run.get("metrics") or {}), **(ev.get("metrics") or {})}
    out = ["## Evaluation", ""]
    out += [_table(["metric", "value"], [[k, _num(v)] for k, v in sorted(metrics.items())]), ""]
    names = list((ev.get("metrics") or {}).keys())
    if ev.get("slices"):
        out += ["### Metrics per slice", ""]
        rows = [
            [s["column"], s["value"], s["rows"], *(_num(s[n]) for n in names)] for s in ev["slices"]
        ]
        out += [_table(["slice by", "value", "rows", *names], rows), ""]
        gaps = [[c, *(_num(g[n]) for n in names)] for c, g in ev["gaps"].items()]
        out += ["Largest gap between slices (max − min):", ""]
        out += [_table(["slice by", *names], gaps), ""]
    return out


def _operations(facts: dict[str, Any]) -> list[str]:
    out = ["## Promotion History", ""]
    rows = [
        [
            e.get("time"),
            e.get("action"),
            e.get("alias"),
            e.get("result"),
            e.get("user"),
            "; ".join(
                f"{g['check']} {'pass' if g['passed'] else 'FAIL'}" for g in e.get("gates", [])
            )
            or "(no gates)",
            e.get("reason"),
        ]
        for e in facts["promotions"]
    ]
    head = ["when", "action", "alias", "result", "who", "gates", "why refused"]
    out += [_table(head, rows) if rows else "Never promoted.", ""]
    out += ["## Monitoring", ""]
    mon = [
        [_when(float(e.get("time") or 0) * 1000), e.get("run_id"), e.get("rows"),
         e.get("share_drifted"), e.get("alert")]
        for e in facts["monitoring"]
    ]  # fmt: skip
    head = ["when", "monitoring run", "rows", "share drifted", "alert"]
    out += [_table(head, mon) if mon else "No monitoring recorded yet.", ""]
    live = facts.get("live") or []
    if live:
        names = sorted({k for p in live for k in p["metrics"]})
        rows = [[p["role"], p["labels"], *(_num(p["metrics"].get(n)) for n in names)] for p in live]
        out += ["Live performance (labelled predictions):", ""]
        out += [_table(["role", "labels", *names], rows), ""]
    return out


def _technical(facts: dict[str, Any]) -> list[str]:
    out = ["## Technical Specifications", ""]
    sig = facts.get("signature") or {}
    for part in ("inputs", "outputs"):
        spec = sig.get(part)
        if isinstance(spec, list):
            rows = [[s.get("name", ""), s.get("type", "")] for s in spec if isinstance(s, dict)]
            out += [f"Signature {part}:", "", _table(["name", "type"], rows), ""]
    if facts.get("input_example"):
        out += ["Input example:", "", "```json", facts["input_example"], "```", ""]
    reqs = facts.get("requirements") or []
    out += ["Dependencies:", "", *(f"- `{r}`" for r in reqs), ""] if reqs else []
    return out


def to_markdown(facts: dict[str, Any]) -> str:
    """The card as ``model_card.md``: YAML front matter, then Markdown."""
    m = facts["model"]
    body = [f"# Model Card for {m['name']} (version {m['version']})", ""]
    body += _details(facts) + _written(facts) + _training(facts) + _evaluation(facts)
    body += _operations(facts) + _technical(facts)
    body += ["---", "Generated by jupyter-mlops from the model's lineage.", ""]
    return _front_matter(facts) + "\n" + "\n".join(body)


def to_html(markdown: str) -> str:
    """``model_card.html``: the Markdown body rendered, raw HTML in it escaped."""
    import mistune

    body = markdown.split("---\n", 2)[2] if markdown.startswith("---\n") else markdown
    render = mistune.create_markdown(escape=True, plugins=["table"])
    html = str(render(body))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Model card</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
        f"</head><body>{html}</body></html>\n"
    )
