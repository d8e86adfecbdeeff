import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count

from automate.management.commands.bench_flow_pages import (
    SUMMARY_NAMES,
    flows_top_up,
    runs_top_up,
)
from automate.models import Document, Flow, FlowRun, RunStatus, SentEmail, StepRun, StepStatus
from records.models import Company

SMALL = {"orders": 0, "customers": 0, "flows": 8, "samples": 2}


def _bench(tmp_path, name: str, **options) -> dict:
    output = tmp_path / f"{name}.json"
    call_command("bench_flow_pages", **SMALL, output=str(output), **options)
    return json.loads(output.read_text())


def _demo():
    call_command("seed_demo", verbosity=0)
    return Company.objects.get(name="CRONUS"), get_user_model().objects.get(username="sales")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.slow
@pytest.mark.django_db
def test_query_counts_do_not_grow_with_the_runs(tmp_path, media, capsys):
    # 60 runs leave most lists part-full (page 2 of the run history holds 10), so a query
    # per row shows as well as a query per run.
    small = _bench(tmp_path, "small", runs=60)
    large = _bench(tmp_path, "large", runs=400)

    assert small["rows"]["runs"] == 60
    assert large["rows"]["runs"] == 400
    assert large["rows"]["flows"] == 8
    pages = [r["page"] for r in small["results"]]
    assert pages == [r["page"] for r in large["results"]]
    assert {"run history, page 2", "run page, 6 steps", "customer card with flows"} <= set(pages)
    assert {r["page"]: r["queries"] for r in small["results"]} == {
        r["page"]: r["queries"] for r in large["results"]
    }
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 and r["queries"] > 0 for r in large["results"])
    assert "run history, page 2" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.django_db
def test_runs_look_like_the_engine_left_them(media):
    company, sales = _demo()
    flows_top_up(company=company, user=sales, target=8)
    assert runs_top_up(company=company, user=sales, target=300) == 300

    runs = FlowRun.objects.annotate(steps_count=Count("steps"))
    assert set(runs.values_list("status", flat=True)) == {
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.WAITING,
        RunStatus.CANCELLED,
    }
    assert {run.steps_count for run in runs} == {3, 4, 5, 6}
    for run in runs.select_related("flow__owner"):
        assert run.flow.owner == sales
        assert run.record_number and run.record_path.startswith("/")
        assert run.trigger_data["body"]["number"] == run.record_number
        steps = list(run.steps.order_by("position"))
        assert tuple(s.name for s in steps) == SUMMARY_NAMES[: len(steps)]
        if run.status == RunStatus.WAITING:
            assert run.finished_at is None and run.wake_at == steps[-1].next_attempt_at
            assert steps[-1].status == StepStatus.WAITING
        else:
            assert run.finished_at >= run.started_at >= run.created_at
        if run.status == RunStatus.FAILED:
            assert steps[0].status == StepStatus.FAILED and run.error.startswith("Get record")
            assert {s.status for s in steps[1:]} == {StepStatus.SKIPPED}
        if run.status == RunStatus.SUCCEEDED:
            assert {s.status for s in steps} == {StepStatus.SUCCEEDED}
            assert run.steps_done == run.steps_total == len(steps)
    assert len(set(FlowRun.objects.values_list("idempotency_key", flat=True))) == 300
    assert SentEmail.objects.filter(run__status=RunStatus.SUCCEEDED).exists()
    document = Document.objects.select_related("run").first()
    with document.file.open("rb") as handle:
        assert f"{json.load(handle)['number']}.json" == document.name


@pytest.mark.slow
@pytest.mark.django_db
def test_a_second_top_up_adds_nothing(media):
    company, sales = _demo()
    flows_top_up(company=company, user=sales, target=8)
    runs_top_up(company=company, user=sales, target=150)
    counts = [m.objects.count() for m in (Flow, FlowRun, StepRun, SentEmail, Document)]

    assert flows_top_up(company=company, user=sales, target=8) == 0
    assert runs_top_up(company=company, user=sales, target=150) == 0
    assert [m.objects.count() for m in (Flow, FlowRun, StepRun, SentEmail, Document)] == counts


def test_it_refuses_too_few_flows(tmp_path):
    with pytest.raises(CommandError, match="--flows must be at least 8"):
        call_command("bench_flow_pages", flows=5, output=str(tmp_path / "x.json"))
