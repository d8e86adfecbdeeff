"""Automated and scheduled flows on real Celery worker processes and a real Redis.

Each trigger kind starts a run that a worker finishes; changes made while Redis is down
commit and start their runs once it is back; two tickers at once fire each slot once; a
transaction that changes 5,000 customers starts 5,000 runs. The same paths run in one
process in tests/automate/test_triggers.py.
"""

import datetime
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import transaction

from automate.engine.runner import automate_tick
from automate.models import FINISHED_RUN_STATUSES, Flow, FlowRun, RunStatus, TriggerEvent
from automate.services import flow_create
from bcsite.celery import app
from records import services as records
from records.models import Customer
from tests.factories import CustomerFactory, ItemFactory
from tests.integration.redis_server import RedisServer
from tests.workers import routed_to, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COMPOSE = [{"name": "Compose", "type": "data.compose", "inputs": {"value": "@triggerBody()"}}]
BULK = 5000
BULK_TIMEOUT = 900


def automated(company, owner, trigger, *, name="Automated"):
    return flow_create(
        company=company,
        owner=owner,
        name=name,
        definition={"schemaVersion": 1, "trigger": trigger, "steps": COMPOSE},
    )


def body(run):
    return run.trigger_data["body"]


def finished_runs(flow, count=1):
    """The flow's runs once ``count`` of them exist and all have finished, else None."""
    runs = list(FlowRun.objects.filter(flow=flow).order_by("created_at", "pk"))
    if len(runs) == count and all(run.is_finished for run in runs):
        return runs
    return None


def wait_for_runs(worker, flow, count=1):
    return worker.wait_until(
        lambda: finished_runs(flow, count), what=f"{count} finished run(s) of {flow.name}"
    )


def assert_started_by_its_event(run):
    event = TriggerEvent.objects.get(run=run)
    assert event.status == TriggerEvent.Status.STARTED
    assert event.delivered_at is not None
    assert run.idempotency_key == f"trigger:{event.pk}"


# -- Each kind of trigger ------------------------------------------------------------------


def test_a_created_record_starts_a_run_the_worker_finishes(celery_worker_process, company, sales):
    flow = automated(company, sales, {"type": "record_created", "table": 18})

    customer = records.customer_create(company=company, user=sales, name="Fabrikam")

    [run] = wait_for_runs(celery_worker_process, flow)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (body(run)["number"], body(run)["changeType"]) == (customer.no, "created")
    # The worker ran the step on what the event carried.
    assert run.steps.get().outputs["body"]["displayName"] == "Fabrikam"
    assert_started_by_its_event(run)


def test_a_modified_record_starts_a_run_only_for_the_chosen_fields(
    celery_worker_process, company, sales
):
    customer = CustomerFactory(company=company, blocked="", city="Atlanta")
    flow = automated(
        company, sales, {"type": "record_modified", "table": 18, "fields": ["blocked"]}
    )

    records.customer_update(customer=customer, user=sales, city="Oslo")
    # The outbox is written in the change's transaction: no event now means none ever.
    assert not TriggerEvent.objects.filter(flow=flow).exists()
    records.customer_update(customer=customer, user=sales, blocked="all")

    [run] = wait_for_runs(celery_worker_process, flow)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert body(run)["changedFields"] == ["blocked"]
    assert body(run)["previous"] == {"blocked": " "}
    assert TriggerEvent.objects.filter(flow=flow).count() == 1
    assert_started_by_its_event(run)


def test_a_deleted_record_starts_a_run_with_its_last_values(celery_worker_process, company, sales):
    customer = CustomerFactory(company=company, name="Leaving Ltd", city="Oslo")
    flow = automated(company, sales, {"type": "record_deleted", "table": 18})

    records.customer_delete(customer=customer, user=sales)

    [run] = wait_for_runs(celery_worker_process, flow)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert (body(run)["displayName"], body(run)["city"]) == ("Leaving Ltd", "Oslo")
    assert body(run)["changeType"] == "deleted"
    assert_started_by_its_event(run)


def test_releasing_a_sales_order_starts_its_business_event_flow(
    celery_worker_process, company, sales
):
    flow = automated(company, sales, {"type": "business_event", "event": "salesOrderReleased"})
    customer = CustomerFactory(company=company, email="orders@fabrikam.example")
    order = records.sales_order_create(company=company, user=sales, customer=customer)
    records.sales_order_line_add(
        order=order, user=sales, item=ItemFactory(company=company), quantity=2, unit_price=100
    )

    records.sales_order_release(order=order, user=sales)

    [run] = wait_for_runs(celery_worker_process, flow)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert body(run)["eventName"] == "salesOrderReleased"
    assert body(run)["salesOrderNumber"] == order.no
    assert body(run)["customerEmail"] == "orders@fabrikam.example"
    assert_started_by_its_event(run)


def test_a_recurrence_fires_each_minute_slot_once_on_the_tick(
    celery_worker_process, company, sales
):
    flow = automated(company, sales, {"type": "recurrence", "frequency": "minute", "interval": 1})
    slot = flow.next_run_at
    minute = datetime.timedelta(minutes=1)

    assert automate_tick(now=slot - datetime.timedelta(seconds=1))["fired"] == 0
    assert automate_tick(now=slot)["fired"] == 1
    assert automate_tick(now=slot + datetime.timedelta(seconds=30))["fired"] == 0
    wait_for_runs(celery_worker_process, flow)
    assert automate_tick(now=slot + minute)["fired"] == 1

    runs = wait_for_runs(celery_worker_process, flow, 2)
    assert [run.status for run in runs] == [RunStatus.SUCCEEDED] * 2
    assert [body(run)["scheduledTime"] for run in runs] == [
        slot.isoformat(),
        (slot + minute).isoformat(),
    ]
    for run in runs:
        assert_started_by_its_event(run)


def test_a_trigger_condition_that_fails_skips_the_event_with_its_reason(
    celery_worker_process, company, sales
):
    condition = "@equals(triggerBody()?['city'], 'Atlanta')"
    flow = automated(
        company, sales, {"type": "record_created", "table": 18, "conditions": [condition]}
    )

    records.customer_create(company=company, user=sales, name="Elsewhere", city="Oslo")
    records.customer_create(company=company, user=sales, name="Here", city="Atlanta")

    [run] = wait_for_runs(celery_worker_process, flow)
    skipped = celery_worker_process.wait_until(
        lambda: TriggerEvent.objects.filter(flow=flow, status=TriggerEvent.Status.SKIPPED).first(),
        what="the event to be skipped",
    )
    assert skipped.reason == f"Trigger condition 1 was not met: {condition}"
    assert skipped.run_id is None and skipped.delivered_at is not None
    assert body(run)["displayName"] == "Here"
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert TriggerEvent.objects.filter(flow=flow).count() == 2


# -- A Redis outage ------------------------------------------------------------------------


def _new_connections():
    # Celery keeps its broker connections in pools made from the settings of the time.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker(url: str):
    """While inside, this process's Celery app publishes to the broker at ``url``."""
    saved = app.conf.broker_url
    app.conf.broker_url = url
    _new_connections()
    try:
        yield
    finally:
        app.conf.broker_url = saved
        _new_connections()


def test_changes_made_while_redis_is_down_each_start_one_run_once_it_is_back(
    company, sales, worker_url, tmp_path
):
    customers = [CustomerFactory(company=company, city="Atlanta") for _ in range(6)]
    flow = automated(company, sales, {"type": "record_modified", "table": 18})
    redis_server = RedisServer(tmp_path / "redis.log")
    redis_server.start()
    worker = None
    try:
        worker = start_worker(
            worker_url, tmp_path / "worker.log", env={"REDIS_URL": redis_server.url}
        )
        with broker(redis_server.url), routed_to(worker.queue):
            records.customer_update(customer=customers[0], user=sales, city="Before")
            wait_for_runs(worker, flow)
            # Redis goes while the worker is idle. (Going while the worker holds a message
            # it has not acknowledged yet, kombu fails to restore it and the worker exits.)
            worker.wait_until(
                lambda: redis_server.unacknowledged() == 0, what="the worker to be idle"
            )
            redis_server.stop()
            # Several transactions, one with two changes: each commits for its user.
            with transaction.atomic():
                records.customer_update(customer=customers[1], user=sales, city="Down 1")
                records.customer_update(customer=customers[2], user=sales, city="Down 2")
            for n, customer in enumerate(customers[3:], 3):
                records.customer_update(customer=customer, user=sales, city=f"Down {n}")

            cities = Customer.objects.filter(pk__in=[c.pk for c in customers[1:]])
            assert sorted(cities.values_list("city", flat=True)) == [
                f"Down {n}" for n in range(1, 6)
            ]
            pending = TriggerEvent.objects.filter(flow=flow, status=TriggerEvent.Status.PENDING)
            assert pending.count() == 5
            assert FlowRun.objects.filter(flow=flow).count() == 1

            redis_server.start()
            # The sweeper, once the events' redelivery time has come.
            times = list(pending.values_list("redeliver_at", flat=True))
            assert automate_tick(now=min(times) - datetime.timedelta(seconds=1))["swept"] == 0
            assert automate_tick(now=max(times))["swept"] == 5
            runs = wait_for_runs(worker, flow, 6)
    finally:
        if worker is not None:
            worker.stop()
        redis_server.stop()

    assert [run.status for run in runs] == [RunStatus.SUCCEEDED] * 6
    events = TriggerEvent.objects.filter(flow=flow)
    assert set(events.values_list("status", flat=True)) == {TriggerEvent.Status.STARTED}
    assert sorted(events.values_list("run_id", flat=True)) == sorted(run.pk for run in runs)
    assert sorted(body(run)["city"] for run in runs) == [
        "Before",
        *(f"Down {n}" for n in range(1, 6)),
    ]


# -- Two tickers at once -------------------------------------------------------------------

# Ticks every slot it is given, once the test says go, and prints how many events it fired.
TICKER = """
import datetime, json, sys
import django
django.setup()
from automate.engine.runner import automate_tick
slots = [datetime.datetime.fromisoformat(s) for s in json.loads(sys.argv[1])]
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps([automate_tick(now=slot)["fired"] for slot in slots]), flush=True)
"""
TICKER_FLOWS = 5
TICKER_SLOTS = 12


def _ticker(url: str, queue: str, slots: list[datetime.datetime]) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bcsite.settings",
        "DATABASE_URL": url,
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    return subprocess.Popen(
        [sys.executable, "-c", TICKER, json.dumps([s.isoformat() for s in slots])],
        cwd=settings.BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_tickers_at_once_fire_each_slot_of_each_flow_once(
    celery_worker_process, company, sales, worker_url
):
    flows = [
        automated(
            company,
            sales,
            {"type": "recurrence", "frequency": "minute", "interval": 1},
            name=f"Every minute {n}",
        )
        for n in range(TICKER_FLOWS)
    ]
    first = max(
        Flow.objects.filter(pk__in=[f.pk for f in flows]).values_list("next_run_at", flat=True)
    )
    slots = [first + datetime.timedelta(minutes=n) for n in range(TICKER_SLOTS)]
    tickers = [_ticker(worker_url, celery_worker_process.queue, slots) for _ in range(2)]
    try:
        for ticker in tickers:
            assert ticker.stdout.readline().strip() == "ready", ticker.stderr.read()
        for ticker in tickers:
            ticker.stdin.write("go\n")
            ticker.stdin.flush()
        outputs = [ticker.communicate(timeout=120) for ticker in tickers]
    finally:
        for ticker in tickers:
            if ticker.poll() is None:
                ticker.kill()
                ticker.wait(timeout=10)
    for ticker, (_, err) in zip(tickers, outputs, strict=True):
        assert ticker.returncode == 0, err
    fired = [json.loads(out) for out, _ in outputs]
    total = TICKER_FLOWS * TICKER_SLOTS

    # What the two tickers say they fired adds up: none fired a slot the other did.
    assert sum(map(sum, fired)) == total
    for flow in flows:
        runs = wait_for_runs(celery_worker_process, flow, TICKER_SLOTS)
        events = TriggerEvent.objects.filter(flow=flow)
        assert sorted(events.values_list("key", flat=True)) == sorted(
            f"recurrence:{flow.pk}:{slot.isoformat()}" for slot in slots
        )
        assert sorted(body(run)["scheduledTime"] for run in runs) == [s.isoformat() for s in slots]
        assert {run.status for run in runs} == {RunStatus.SUCCEEDED}
        assert sorted(events.values_list("run_id", flat=True)) == sorted(r.pk for r in runs)


# -- Volume --------------------------------------------------------------------------------


def test_five_thousand_customers_changed_in_one_transaction_run_five_thousand_times(
    celery_worker_process, company, sales
):
    Customer.objects.bulk_create(
        Customer(company=company, no=f"B{n:05}", name=f"Bulk {n}") for n in range(BULK)
    )
    flow = automated(company, sales, {"type": "record_modified", "table": 18})
    started = time.monotonic()
    with transaction.atomic():
        for customer in Customer.objects.filter(company=company).order_by("pk"):
            records.customer_update(customer=customer, user=sales, city="Oslo")
    committed = time.monotonic()
    runs = FlowRun.objects.filter(flow=flow)

    def all_finished():
        # Polled once a second: a count of 5,000 rows at 10 Hz would slow the worker down.
        time.sleep(0.9)
        return runs.filter(status__in=FINISHED_RUN_STATUSES).count() == BULK

    celery_worker_process.wait_until(
        all_finished, timeout=BULK_TIMEOUT, what=f"{BULK} runs to finish"
    )
    done = time.monotonic()
    print(
        f"\n{BULK} changes on {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[1]}: "
        f"transaction {committed - started:.1f} s, runs finished {done - committed:.1f} s "
        "after the commit"
    )

    assert runs.count() == BULK
    assert set(runs.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}
    events = TriggerEvent.objects.filter(flow=flow)
    assert events.count() == BULK
    assert set(events.values_list("status", flat=True)) == {TriggerEvent.Status.STARTED}
    assert len(set(events.values_list("run_id", flat=True))) == BULK
    numbers = {r.trigger_data["body"]["number"] for r in runs.only("trigger_data")}
    assert numbers == {f"B{n:05}" for n in range(BULK)}
