"""The chaos harness, smaller: flow runs on real workers while workers are SIGKILLed and
Redis is restarted (``make chaos`` does 1,000 runs, five kills)."""

import json

import pytest
from django.core.management import call_command

from automate.management.commands import _engine_bench as engine
from automate.management.commands.chaos import LEDGER, _check
from automate.models import Flow
from records.models import Customer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _chaos(tmp_path, **options) -> dict:
    output = tmp_path / "chaos.json"
    call_command("chaos", output=str(output), **options)
    return json.loads(output.read_text())


def test_every_event_runs_once_and_nothing_twice_through_kills_and_a_redis_restart(tmp_path):
    report = _chaos(tmp_path, runs=150, kills=2, redis_restarts=1, rate=30, seed=8)

    assert report["passed"], report["checks"]
    assert [c["ok"] for c in report["checks"]] == [True] * 8
    faults = [f["what"] for f in report["faults"]]
    assert sum(what.startswith("SIGKILL") for what in faults) == 2
    assert "Redis killed" in faults and "Redis started again (empty)" in faults
    counts = report["counts"]
    assert counts["runs_by_status"] == {"succeeded": 150} and counts["ledger_rows"] == 150
    # The faults did cost deliveries: some runs were handed on or delivered again.
    assert counts["deliveries"] >= 150


def test_the_checks_see_a_side_effect_done_twice_and_one_missing(tmp_path):
    report = _chaos(tmp_path, runs=4, kills=0, redis_restarts=0, rate=20, seed=1)
    assert report["passed"]
    flow = Flow.objects.get(pk=report["flow_id"])
    company, _ = engine.demo()
    customers = engine.customers_to_change(company, 4)
    mark = report["mark"]
    first, last = f"{LEDGER}C{mark}-00000", f"{LEDGER}C{mark}-00003"
    Customer.objects.create(company=company, no="DUP1", name=first)
    Customer.objects.filter(name=last).delete()

    checks = {c["check"]: c for c in _check(flow, customers, mark, 4)[0]}

    assert not checks["no ledger row written twice"]["ok"]
    assert first in checks["no ledger row written twice"]["detail"]
    assert not checks["no ledger row missing"]["ok"]
    assert checks["exactly one run per event"]["ok"]
