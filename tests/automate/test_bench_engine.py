import json

import pytest
from django.core.management import CommandError, call_command

from automate.management.commands.bench_engine import FLOW_NAME, INSTANT_NAME
from automate.models import Flow, FlowRun, RunStatus
from tests.workers import use_file_database

# The bench's workers open the test database from their own processes.
use_file_database()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_measures_the_floor_the_flow_runs_and_the_instant_flow(tmp_path, capsys):
    output = tmp_path / "engine.json"
    call_command("bench_engine", noop_tasks=20, runs=8, workers="1", samples=2, output=str(output))
    report = json.loads(output.read_text())

    [noop] = report["noop"]
    assert (noop["workers"], noop["tasks"]) == (1, 20) and noop["tasks_per_s"] > 0
    [runs] = report["flow_runs"]
    assert (runs["workers"], runs["runs"], runs["succeeded"]) == (1, 8, 8)
    assert runs["unfinished_at_end"] == 0
    assert runs["runs_per_s"] > 0 and runs["share_of_noop"] > 0
    # The measured flow really ran its three steps on real workers, once per change.
    [flow] = Flow.objects.filter(name=FLOW_NAME)
    run = FlowRun.objects.filter(flow=flow).first()
    assert run.status == RunStatus.SUCCEEDED
    assert list(run.steps.values_list("name", flat=True)) == [
        "Get_record",
        "Compose",
        "Update_record",
    ]
    assert not flow.enabled  # turned off, so later changes do not start it
    statements = report["statements"]
    assert statements["change"] > 0 and statements["delivery"] > 0 and statements["run"] > 0
    # The delivery task runs the run itself: one Celery task for an event and its run.
    assert statements["tasks"] == 1
    stages = {row["stage"]: row for row in report["instant"]["stages"]}
    assert stages["click -> run finished"]["count"] == 2
    assert stages["click -> run started"]["p50_ms"] <= stages["click -> run finished"]["p50_ms"]
    assert FlowRun.objects.filter(flow__name=INSTANT_NAME).count() == 3  # one warms up
    assert report["cores"] > 0 and report["database"] in ("sqlite", "postgresql")
    assert "3-step flow runs on record changes" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": "0"}, "--workers must list"),
        ({"workers": "one"}, "--workers must list"),
        ({"runs": 0}, "--workers must list"),
        ({"noop_tasks": 1}, "--noop-tasks must be at least 2"),
        ({"seconds": 0}, "--noop-tasks must be at least 2 and --seconds above 0"),
    ],
)
def test_it_refuses_options_that_measure_nothing(tmp_path, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("bench_engine", output=str(tmp_path / "x.json"), **options)
