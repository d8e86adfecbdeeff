import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from automate.management.commands.bench_triggers import FLOW_NAME
from automate.models import Flow, FlowRun, RunStatus, TriggerEvent
from records.models import Customer
from tests.workers import use_file_database

# The bench's workers open the test database from their own processes, so it must be a
# file even when this module runs without tests/integration (whose conftest does the same).
use_file_database()

STAGES = ["commit -> run queued", "commit -> run started", "commit -> run finished"]


def _bench(tmp_path, name: str) -> dict:
    output = tmp_path / f"{name}.json"
    call_command("bench_triggers", workers=1, rate=10, seconds=0.6, output=str(output))
    return json.loads(output.read_text())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_times_each_change_from_its_commit_to_its_finished_run(tmp_path, capsys):
    first = _bench(tmp_path, "first")
    second = _bench(tmp_path, "second")

    for report in (first, second):
        assert report["changes"] == 6
        assert (report["unfinished"], report["skipped"], report["succeeded"]) == (0, 0, 6)
        assert (report["workers"], report["database"]) == (1, connection.vendor)
        assert [row["stage"] for row in report["results"]] == STAGES
        assert all(row["count"] == 6 for row in report["results"])
        assert all(0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"] for row in report["results"])
        queued, started, finished = (row["p50_ms"] for row in report["results"])
        # Each change's run is queued, then starts, then ends.
        assert queued <= started <= finished
        assert report["throughput_runs_per_s"] > 0
    # A second bench starts from a new flow and measures its own changes only.
    [flow] = Flow.objects.filter(name=FLOW_NAME)
    assert FlowRun.objects.filter(flow=flow, status=RunStatus.SUCCEEDED).count() == 6
    assert TriggerEvent.objects.filter(flow=flow).count() == 6
    assert Customer.objects.filter(city__startswith="Bench ").count() == 6
    out = capsys.readouterr().out
    assert "commit -> run finished" in out and "Throughput:" in out


@pytest.mark.parametrize(
    "options",
    [{"workers": 0}, {"rate": 0}, {"seconds": 0.01}, {"drain": 0}],
)
def test_it_refuses_options_that_measure_nothing(tmp_path, options):
    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("bench_triggers", output=str(tmp_path / "x.json"), **options)
