"""Automated and scheduled flows, end to end in one process (Celery eager).

A change commits, its trigger events are delivered, and runs start and finish; what
does not start says why. Real workers and Redis are in tests/integration/test_triggers.py.
"""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from automate.engine.runner import automate_tick, flow_run_claim
from automate.models import Flow, FlowRun, RunStatus, TriggerEvent
from automate.services import flow_create, flow_set_enabled
from automate.services.triggers import (
    trigger_events_deliver,
    trigger_events_deliver_keeping_one,
)
from automate.tasks import trigger_events_deliver_task
from bcsite.registry import registry
from records import services as records
from records.models import Customer
from tests.factories import CustomerFactory, ItemFactory, SalesOrderFactory

pytestmark = pytest.mark.django_db

COMPOSE = [{"name": "Compose", "type": "data.compose", "inputs": {"value": "@triggerBody()"}}]


def automated(company, owner, trigger, *, steps=None, name="Automated", enabled=True):
    return flow_create(
        company=company,
        owner=owner,
        name=name,
        definition={"schemaVersion": 1, "trigger": trigger, "steps": steps or COMPOSE},
        enabled=enabled,
    )


def body(run):
    return run.trigger_data["body"]


def test_a_created_customer_starts_its_flow_once_the_change_commits(
    company, sales, django_capture_on_commit_callbacks
):
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    with django_capture_on_commit_callbacks(execute=True):
        customer = records.customer_create(company=company, user=sales, name="Fabrikam")
    run = FlowRun.objects.get(flow=flow)
    assert run.status == RunStatus.SUCCEEDED
    assert body(run)["number"] == customer.no
    assert body(run)["displayName"] == "Fabrikam"
    assert body(run)["changeType"] == "created"
    assert body(run)["recordId"] == str(customer.system_id)
    assert body(run)["recordUrl"].startswith("/")
    event = TriggerEvent.objects.get(flow=flow)
    assert (event.status, event.run_id) == (TriggerEvent.Status.STARTED, run.pk)


def test_a_rolled_back_change_writes_no_event(company, sales, django_capture_on_commit_callbacks):
    automated(company, sales, {"type": "record_created", "table": 18})
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        records.customer_create(company=company, user=sales, name="Gone")
        raise RuntimeError
    assert not TriggerEvent.objects.exists()
    assert not FlowRun.objects.exists()


def test_modified_starts_only_when_a_chosen_field_changes(
    company, sales, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(company=company, blocked="", city="Atlanta")
    flow = automated(
        company, sales, {"type": "record_modified", "table": 18, "fields": ["blocked"]}
    )
    any_field = automated(company, sales, {"type": "record_modified", "table": 18}, name="Any")
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=customer, user=sales, city="Oslo")
    assert not FlowRun.objects.filter(flow=flow).exists()
    assert FlowRun.objects.filter(flow=any_field).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=customer, user=sales, blocked="all")
    run = FlowRun.objects.get(flow=flow)
    assert body(run)["changedFields"] == ["blocked"]
    assert body(run)["previous"] == {"blocked": " "}
    assert body(run)["blocked"] == "All"
    assert body(run)["userName"] == ""


def test_saving_without_a_change_starts_nothing(company, sales, django_capture_on_commit_callbacks):
    customer = CustomerFactory(company=company, city="Atlanta")
    automated(company, sales, {"type": "record_modified", "table": 18})
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=customer, user=sales, city="Atlanta")
    assert not TriggerEvent.objects.exists()


def test_a_deleted_record_leaves_its_last_values(
    company, sales, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(company=company, name="Leaving Ltd", city="Oslo")
    flow = automated(company, sales, {"type": "record_deleted", "table": 18})
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_delete(customer=customer, user=sales)
    run = FlowRun.objects.get(flow=flow)
    assert run.status == RunStatus.SUCCEEDED
    assert body(run)["displayName"] == "Leaving Ltd"
    assert body(run)["city"] == "Oslo"
    assert body(run)["changeType"] == "deleted"


def test_another_companys_changes_do_not_start_the_flow(
    company, other_company, sales, django_capture_on_commit_callbacks
):
    automated(company, sales, {"type": "record_created", "table": 18})
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_create(company=other_company, user=None, name="Elsewhere")
    assert not TriggerEvent.objects.exists()


def test_a_line_change_reaches_flows_on_sales_lines(
    company, sales, django_capture_on_commit_callbacks
):
    order = SalesOrderFactory(company=company)
    item = ItemFactory(company=company)
    flow = automated(company, sales, {"type": "record_created", "table": 37})
    with django_capture_on_commit_callbacks(execute=True):
        records.sales_order_line_add(order=order, user=sales, item=item, quantity=2)
    run = FlowRun.objects.get(flow=flow)
    assert body(run)["lineObjectNumber"] == item.no
    assert body(run)["documentNumber"] == order.no
    assert body(run)["tableId"] == 37
    assert body(run)["recordUrl"] == registry.pages["sales_order"].card_url(order.pk)


def test_business_events_start_flows_with_their_payload(
    company, sales, django_capture_on_commit_callbacks
):
    released = automated(company, sales, {"type": "business_event", "event": "salesOrderReleased"})
    over_limit = automated(
        company,
        sales,
        {"type": "business_event", "event": "salesCreditLimitExceeded"},
        name="Credit",
    )
    customer = CustomerFactory(company=company, email="orders@fabrikam.example", credit_limit=100)
    order = records.sales_order_create(company=company, user=sales, customer=customer)
    records.sales_order_line_add(
        order=order, user=sales, item=ItemFactory(company=company), quantity=5, unit_price=100
    )
    with django_capture_on_commit_callbacks(execute=True):
        records.sales_order_release(order=order, user=sales)
    run = FlowRun.objects.get(flow=released)
    assert body(run)["salesOrderNumber"] == order.no
    assert body(run)["customerEmail"] == "orders@fabrikam.example"
    assert body(run)["eventName"] == "salesOrderReleased"
    credit = FlowRun.objects.get(flow=over_limit)
    assert body(credit)["creditLimit"] == 100
    assert body(credit)["exceededBy"] > 0


def test_blocking_and_unblocking_a_customer_raise_their_events(
    company, sales, django_capture_on_commit_callbacks
):
    blocked = automated(company, sales, {"type": "business_event", "event": "customerBlocked"})
    unblocked = automated(
        company, sales, {"type": "business_event", "event": "customerUnblocked"}, name="Un"
    )
    customer = CustomerFactory(company=company, blocked="")
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=customer, user=sales, blocked="ship")
        records.customer_update(customer=customer, user=sales, blocked="all")
        records.customer_update(customer=customer, user=sales, blocked="")
    assert FlowRun.objects.filter(flow=blocked).count() == 1
    run = FlowRun.objects.get(flow=unblocked)
    assert (body(run)["blocked"], body(run)["previousBlocked"]) == (" ", "All")


def test_item_unit_price_changed(company, sales, django_capture_on_commit_callbacks):
    flow = automated(company, sales, {"type": "business_event", "event": "itemUnitPriceChanged"})
    item = ItemFactory(company=company, unit_price=10)
    with django_capture_on_commit_callbacks(execute=True):
        records.item_update(item=item, user=sales, description="Renamed")
        records.item_update(item=item, user=sales, unit_price="12.50")
    run = FlowRun.objects.get(flow=flow)
    assert (body(run)["previousUnitPrice"], body(run)["unitPrice"]) == (10.0, 12.5)


def test_posting_raises_invoice_posted(company, sales, django_capture_on_commit_callbacks):
    flow = automated(company, sales, {"type": "business_event", "event": "salesInvoicePosted"})
    customer = CustomerFactory(company=company)
    order = records.sales_order_create(company=company, user=sales, customer=customer)
    records.sales_order_line_add(
        order=order, user=sales, item=ItemFactory(company=company), quantity=1, unit_price=40
    )
    with django_capture_on_commit_callbacks(execute=True):
        invoice = records.sales_order_post(order=order, user=sales)
    run = FlowRun.objects.get(flow=flow)
    assert body(run)["salesInvoiceNumber"] == invoice.no
    assert body(run)["orderNumber"] == order.no


def test_trigger_conditions_skip_with_the_condition_that_failed(
    company, sales, django_capture_on_commit_callbacks
):
    flow = automated(
        company,
        sales,
        {
            "type": "record_created",
            "table": 18,
            "conditions": ["@equals(triggerBody()?['city'], 'Atlanta')"],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_create(company=company, user=sales, name="A", city="Atlanta")
        records.customer_create(company=company, user=sales, name="B", city="Oslo")
    assert FlowRun.objects.filter(flow=flow).count() == 1
    skipped = TriggerEvent.objects.get(flow=flow, status=TriggerEvent.Status.SKIPPED)
    assert skipped.reason == (
        "Trigger condition 1 was not met: @equals(triggerBody()?['city'], 'Atlanta')"
    )


def test_flows_of_an_owner_who_may_not_automate_are_skipped_with_the_reason(
    company, sales, django_capture_on_commit_callbacks
):
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    sales.is_active = False
    sales.save()
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_create(company=company, user=None, name="Contoso")
    assert not FlowRun.objects.exists()
    event = TriggerEvent.objects.get(flow=flow)
    assert event.status == TriggerEvent.Status.SKIPPED
    assert "no longer an active user" in event.reason
    assert "do not start" in event.reason


def test_a_flow_turned_off_starts_nothing(company, sales, django_capture_on_commit_callbacks):
    flow = automated(company, sales, {"type": "record_created", "table": 18}, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_create(company=company, user=sales, name="Contoso")
    assert not TriggerEvent.objects.filter(flow=flow).exists()


def test_delivering_an_event_twice_starts_one_run(company, sales):
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    with transaction.atomic():
        records.customer_create(company=company, user=sales, name="Twice")
    event = TriggerEvent.objects.get(flow=flow)
    assert trigger_events_deliver([event.pk, event.pk]) == 1
    assert trigger_events_deliver([event.pk]) == 0
    assert FlowRun.objects.filter(flow=flow).count() == 1


def test_the_sweeper_delivers_what_was_left_pending(
    company, sales, django_capture_on_commit_callbacks
):
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    # Without the commit hook (a crash, a broker outage), the event stays pending.
    records.customer_create(company=company, user=sales, name="Left")
    event = TriggerEvent.objects.get(flow=flow)
    assert event.status == TriggerEvent.Status.PENDING
    automate_tick(now=event.redeliver_at - datetime.timedelta(seconds=1))
    assert not FlowRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        counts = automate_tick(now=event.redeliver_at)
    assert counts["swept"] == 1
    assert FlowRun.objects.get(flow=flow).status == RunStatus.SUCCEEDED


def test_a_delivery_task_runs_its_first_run_itself_and_dispatches_the_others(
    company, sales, monkeypatch, django_capture_on_commit_callbacks
):
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    with transaction.atomic():  # its commit hook is not run: the events stay pending
        for name in ("Adatum", "Fabrikam", "Contoso"):
            records.customer_create(company=company, user=sales, name=name)
    ids = list(TriggerEvent.objects.filter(flow=flow).order_by("pk").values_list("pk", flat=True))
    dispatched = []
    monkeypatch.setattr(
        "automate.services.runs.flow_run_dispatch", lambda run_id: dispatched.append(run_id)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert trigger_events_deliver_task.run(ids) == 3

    first, *others = [TriggerEvent.objects.get(pk=pk).run for pk in ids]
    assert first.status == RunStatus.SUCCEEDED and first.deliveries == 1
    # One task for the first event and its run; the others' runs go to other workers.
    assert dispatched == [run.pk for run in others]
    assert [run.status for run in others] == [RunStatus.QUEUED, RunStatus.QUEUED]


def test_a_delivery_task_delivered_again_runs_the_run_its_first_delivery_left(company, sales):
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    with transaction.atomic():
        records.customer_create(company=company, user=sales, name="Again")
    event = TriggerEvent.objects.get(flow=flow)
    # The first delivery committed, then its worker died before it ran the run.
    kept = trigger_events_deliver_keeping_one([event.pk]).kept
    assert FlowRun.objects.get(pk=kept).status == RunStatus.QUEUED

    assert trigger_events_deliver_task.run([event.pk]) == 0  # nothing new started

    run = FlowRun.objects.get(pk=kept)
    assert run.status == RunStatus.SUCCEEDED and run.deliveries == 1
    assert FlowRun.objects.filter(flow=flow).count() == 1


def test_a_delivery_task_delivered_again_takes_a_run_only_when_nobody_holds_it(company, sales):
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    with transaction.atomic():
        records.customer_create(company=company, user=sales, name="Held")
    event = TriggerEvent.objects.get(flow=flow)
    kept = trigger_events_deliver_keeping_one([event.pk]).kept
    assert flow_run_claim(run_id=kept) is not None  # a worker runs it, its lease is live

    trigger_events_deliver_task.run([event.pk])
    run = FlowRun.objects.get(pk=kept)
    assert (run.status, run.deliveries) == (RunStatus.RUNNING, 1)

    # That worker died: once its lease has run out, the task delivered again takes over.
    FlowRun.objects.filter(pk=kept).update(
        lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    trigger_events_deliver_task.run([event.pk])
    run.refresh_from_db()
    assert (run.status, run.deliveries, run.lost_deliveries) == (RunStatus.SUCCEEDED, 2, 1)


def test_a_run_kept_by_a_delivery_whose_worker_died_is_dispatched_by_the_tick(
    company, sales, django_capture_on_commit_callbacks
):
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    with transaction.atomic():
        records.customer_create(company=company, user=sales, name="Orphan")
    event = TriggerEvent.objects.get(flow=flow)
    run = FlowRun.objects.get(pk=trigger_events_deliver_keeping_one([event.pk]).kept)
    # Committed, never claimed: the tick hands it on at its wake time, as any such run.
    assert automate_tick(now=run.wake_at - datetime.timedelta(seconds=1))["redispatched"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert automate_tick(now=run.wake_at)["redispatched"] == 1
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_five_thousand_records_in_one_transaction_start_five_thousand_runs(company, sales):
    flow = automated(company, sales, {"type": "record_modified", "table": 18})
    customers = Customer.objects.bulk_create(
        Customer(company=company, no=f"B{n:05}", name=f"Bulk {n}") for n in range(5000)
    )
    with transaction.atomic():
        for customer in Customer.objects.filter(pk__in=[c.pk for c in customers]):
            records.customer_update(customer=customer, user=sales, city="Oslo")
    events = TriggerEvent.objects.filter(flow=flow)
    assert events.count() == 5000
    # Delivered here rather than by the commit hook, so the runs stay queued: executing
    # them is the worker's part (tests/integration/test_triggers.py).
    assert trigger_events_deliver(list(events.values_list("pk", flat=True))) == 5000
    runs = FlowRun.objects.filter(flow=flow)
    assert runs.count() == 5000
    numbers = {r.trigger_data["body"]["number"] for r in runs.only("trigger_data")}
    assert numbers == {c.no for c in customers}


# -- Recurrence ----------------------------------------------------------------------------


def every_minute(company, owner, **extra):
    return automated(
        company,
        owner,
        {"type": "recurrence", "frequency": "minute", "interval": 1, **extra},
        name="Every minute",
    )


def test_a_scheduled_flow_fires_once_a_slot(company, sales):
    flow = every_minute(company, sales)
    slot = flow.next_run_at
    assert slot > timezone.now() - datetime.timedelta(minutes=1)
    assert slot.second == 0
    automate_tick(now=slot - datetime.timedelta(seconds=1))
    assert not FlowRun.objects.exists()
    assert automate_tick(now=slot)["fired"] == 1
    assert automate_tick(now=slot + datetime.timedelta(seconds=5))["fired"] == 0
    assert automate_tick(now=slot + datetime.timedelta(seconds=60))["fired"] == 1
    runs = FlowRun.objects.filter(flow=flow).order_by("created_at")
    assert [body(r)["scheduledTime"] for r in runs] == [
        slot.isoformat(),
        (slot + datetime.timedelta(minutes=1)).isoformat(),
    ]


def test_after_downtime_a_schedule_catches_up_once(company, sales):
    flow = every_minute(company, sales)
    slot = flow.next_run_at
    later = slot + datetime.timedelta(minutes=30, seconds=10)
    assert automate_tick(now=later)["fired"] == 1
    run = FlowRun.objects.get(flow=flow)
    assert body(run)["scheduledTime"] == (slot + datetime.timedelta(minutes=30)).isoformat()
    flow.refresh_from_db()
    assert flow.next_run_at == slot + datetime.timedelta(minutes=31)


def test_a_slot_fires_once_however_many_ticks_look_at_it(company, sales):
    flow = every_minute(company, sales)
    slot = flow.next_run_at
    # A second ticker that read the flow before the first moved it on.
    assert automate_tick(now=slot)["fired"] == 1
    Flow.objects.filter(pk=flow.pk).update(next_run_at=slot)
    assert automate_tick(now=slot)["fired"] == 0
    assert FlowRun.objects.filter(flow=flow).count() == 1


def test_turning_a_schedule_off_and_on_skips_the_slots_in_between(company, sales):
    flow = every_minute(company, sales)
    flow_set_enabled(flow=flow, user=sales, enabled=False)
    flow.refresh_from_db()
    assert flow.next_run_at is None
    assert automate_tick(now=timezone.now() + datetime.timedelta(hours=1))["fired"] == 0
    flow_set_enabled(flow=flow, user=sales, enabled=True)
    flow.refresh_from_db()
    assert flow.next_run_at > timezone.now()


def test_a_flow_that_changes_its_own_trigger_record_does_not_loop(
    company, sales, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(company=company, blocked="")
    flow = automated(
        company,
        sales,
        {"type": "record_modified", "table": 18},
        steps=[
            {
                "name": "Block",
                "type": "business_central.update_record",
                "inputs": {
                    "table": 18,
                    "id": "@{triggerBody()?['recordId']}",
                    "fields": {"blocked": "All"},
                },
            }
        ],
    )
    watcher = automated(company, sales, {"type": "record_modified", "table": 18}, name="Watch")
    with django_capture_on_commit_callbacks(execute=True):
        records.customer_update(customer=customer, user=sales, city="Oslo")
    assert FlowRun.objects.filter(flow=flow).count() == 1
    customer.refresh_from_db()
    assert customer.blocked == "all"
    # Another flow sees the change the first flow made, and who made it.
    runs = FlowRun.objects.filter(flow=watcher).order_by("pk")
    assert [body(r)["changedFields"] for r in runs] == [["city"], ["blocked"]]
    assert body(runs[1])["userName"] == "sales"


@pytest.mark.django_db(transaction=True)
def test_a_flow_saved_elsewhere_counts_from_the_next_transaction(company, sales):
    """The flows a transaction's changes start are read once a transaction, never longer."""
    from automate.services import triggers

    @transaction.atomic
    def create(name):
        # The same decorator object wraps every call: each call is still a transaction.
        return records.customer_create(company=company, user=sales, name=name)

    create("Before")
    generation = triggers.FLOWS.generation
    flow = automated(company, sales, {"type": "record_created", "table": 18})
    # As if another process had saved the flow: this process hears nothing of it.
    triggers.FLOWS.generation = generation
    create("After")
    assert TriggerEvent.objects.filter(flow=flow).count() == 1
