"""The panel's form to add a schedule, on a real store with real widgets: a cron or a trigger
goes to the schedules service, and a mistake shows that service's one line (nothing stored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import MlopsError
from jupyter_mlops.schedules.api import add_schedule, list_schedules
from jupyter_mlops.testing.notebooks import code, write_notebook
from jupyter_mlops.widgets.tables import message

pytestmark = pytest.mark.integration


@pytest.fixture
def tab(store: Any) -> Iterator[Any]:
    write_notebook(store.root / "score.ipynb", [code("print(1)")])
    p = mlops.panel(live=False)
    p.tabs.selected_index = 4
    try:
        yield p.schedules
    finally:
        p.close()


def _fill(form: Any, **fields: str) -> None:
    for key, value in fields.items():
        getattr(form, key).value = value


def test_a_cron_schedule_is_previewed_in_words_then_added_and_selected(tab: Any) -> None:
    form = tab.form
    _fill(form, name="nightly", target="score.ipynb", cron="0 3 * * *", timezone="Europe/Paris")
    assert "03:00" in form.preview.value and "Europe/Paris" in form.preview.value
    assert form.subject.layout.display == "none"

    form.add_button.click()

    (stored,) = list_schedules()
    assert (stored["name"], stored["target"], stored["cron"]) == (
        "nightly",
        "score.ipynb",
        "0 3 * * *",
    )
    assert stored["timezone"] == "Europe/Paris"
    assert "nightly" in tab.table_html.value and tab.schedule.value == "nightly"
    assert "added schedule nightly" in form.message.value


def test_a_trigger_schedule_starts_on_a_new_snapshot_version(tab: Any) -> None:
    mlops.snapshot(pd.DataFrame({"x": range(3)}), "customers")
    form = tab.form
    form.starts.value = "snapshot"
    assert form.cron_box.layout.display == "none" and form.subject.layout.display == ""
    assert form.subject.description == "Snapshot" and form.subject.options == ("customers",)
    _fill(form, name="on-data", target="score.ipynb", subject="customers")

    form.add_button.click()

    (stored,) = list_schedules()
    assert stored["name"] == "on-data" and stored["cron"] == ""
    assert "when a new version of snapshot customers is written" in tab.table_html.value


@pytest.mark.parametrize(
    ("fields", "kind", "service"),
    [
        ({"cron": "61 * * * *"}, "cron", {"cron": "61 * * * *"}),
        ({"cron": ""}, "cron", {"cron": ""}),
        ({"subject": "nothing"}, "snapshot", {"on_snapshot": ["nothing"]}),
        ({"subject": "churn"}, "promotion", {"on_promotion": ["churn"]}),
        ({"subject": "churn"}, "alert", {"on_alert": ["churn"]}),
        ({"cron": "0 3 * * *", "target": "absent.ipynb"}, "cron", {"cron": "0 3 * * *"}),
        ({"cron": "0 3 * * *", "name": "no spaces"}, "cron", {"cron": "0 3 * * *"}),
    ],
)
def test_a_mistake_shows_the_service_line_and_stores_nothing(
    tab: Any, fields: dict[str, str], kind: str, service: dict[str, Any]
) -> None:
    form = tab.form
    form.starts.value = kind
    _fill(form, **{"name": "s", "target": "score.ipynb", **fields})

    form.add_button.click()

    cron = service.pop("cron", None)
    with pytest.raises(MlopsError) as said:
        add_schedule(form.name.value, form.target.value, cron, **service)
    line = str(said.value)
    assert "\n" not in line
    assert form.message.value == message(line)
    assert list_schedules() == [] and tab.schedule.options == ()


def test_the_trigger_field_offers_the_project_s_aliases_and_models(tab: Any) -> None:
    from tests.serving import register_wine

    register_wine()  # wine, version 1 under production
    form = tab.form
    form.starts.value = "promotion"
    assert form.subject.description == "Model@alias"
    assert form.subject.options == ("wine@production",)
    form.starts.value = "alert"
    assert form.subject.options == ("wine",)
