"""The flows and the customer changes that ``bench_engine``, ``bench_triggers`` and ``chaos``
drive through real workers, and how they wait for and read the runs.

The measured flow is the one the benchmarks' targets name: a record change starts it, and it
gets the record, composes a value and updates the record (three steps). Its update changes
the address only, and the flow starts on changes of the city only, so its own update never
starts it again (nor would it: a flow's own changes never start that flow).
"""

from __future__ import annotations

import datetime
import io
import time
import uuid

from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from automate.definition import RECORD_TRIGGERS
from automate.models import FINISHED_RUN_STATUSES, Flow, FlowRun, TriggerEvent
from automate.services import flow_create
from records import services as records
from records.demo import COMPANY_NAME
from records.models import Company, Customer

USERNAME = "sales"
CUSTOMERS = 18
BENCH_PREFIX = "Bench: "
POLL_SECONDS = 0.2


def three_steps(*, trigger: dict) -> dict:
    """Get the record, compose from it and the trigger, update the record."""
    record_id = "@{triggerBody()?['recordId']}"
    return {
        "schemaVersion": 1,
        "trigger": trigger,
        "steps": [
            {
                "name": "Get_record",
                "type": "business_central.get_record",
                "inputs": {"table": CUSTOMERS, "id": record_id},
            },
            {
                "name": "Compose",
                "type": "data.compose",
                "inputs": {
                    "value": {
                        "number": "@outputs('Get_record')?['body/number']",
                        "city": "@triggerBody()?['city']",
                    }
                },
            },
            {
                "name": "Update_record",
                "type": "business_central.update_record",
                "inputs": {
                    "table": CUSTOMERS,
                    "id": record_id,
                    "fields": {"addressLine1": "Seen @{body('Compose')?['city']}"},
                },
            },
        ],
    }


MODIFIED_CITY = {"type": "record_modified", "table": CUSTOMERS, "fields": ["city"]}


def demo(customers: int = 0) -> tuple[Company, object]:
    """The demo company with at least ``customers`` customers, and the user ``sales``."""
    options = {"customers": customers} if customers else {}
    call_command("seed_demo", verbosity=0, stdout=io.StringIO(), **options)
    company = Company.objects.get(name=COMPANY_NAME)
    return company, get_user_model().objects.get(username=USERNAME)


def fresh_flow(company: Company, user, name: str, definition: dict) -> Flow:
    """Create the flow ``name`` anew, after turning off every automated flow on customers
    that an earlier bench or chaos run left on, so none but this one runs on the changes
    (their history stays for a look)."""
    automated_off(company)
    Flow.objects.filter(company=company, owner=user, name=name).update(
        name=f"{name} (earlier, {timezone.now():%Y-%m-%d %H:%M:%S})"
    )
    return flow_create(company=company, owner=user, name=name, definition=definition)


def automated_off(company: Company) -> None:
    """Turn off the company's flows that customer changes start."""
    Flow.objects.filter(
        company=company, trigger_type__in=RECORD_TRIGGERS, table_id=CUSTOMERS, enabled=True
    ).update(enabled=False)


def turn_off(flow: Flow) -> None:
    Flow.objects.filter(pk=flow.pk).update(enabled=False)


def customers_to_change(company: Company, count: int) -> list[Customer]:
    customers = list(Customer.objects.filter(company=company).order_by("pk")[:count])
    if not customers:
        raise CommandError(f"{COMPANY_NAME} has no customers to change.")
    return customers


def change(customer: Customer, user, city: str) -> datetime.datetime:
    """Change the customer's city in a transaction of its own; returns when it committed
    (noted before the commit hook that dispatches the event to the workers)."""
    committed: list[datetime.datetime] = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(timezone.now()))
        records.customer_update(customer=customer, user=user, city=city[:30])
    return committed[0]


def tag() -> str:
    return uuid.uuid4().hex[:4]


def wait_for_runs(flow: Flow, events: int, timeout: float, *, tick=None) -> int:
    """Wait until ``events`` events of the flow have been delivered and their runs have
    ended (or were skipped), or ``timeout`` seconds; returns how many have not. ``tick``
    is called on each round (a harness ticks as beat would)."""
    deadline = time.monotonic() + timeout
    while True:
        if tick is not None:
            tick()
        all_events = TriggerEvent.objects.filter(flow=flow)
        delivered = all_events.exclude(status=TriggerEvent.Status.PENDING).count()
        skipped = all_events.filter(status=TriggerEvent.Status.SKIPPED).count()
        finished = FlowRun.objects.filter(flow=flow, status__in=FINISHED_RUN_STATUSES).count()
        if delivered >= events and finished + skipped >= events:
            return 0
        if time.monotonic() > deadline:
            return max(0, events - finished - skipped)
        time.sleep(POLL_SECONDS)


def throughput(flow: Flow) -> dict:
    """Runs a second from the first event's delivery to the last run's end."""
    runs = FlowRun.objects.filter(flow=flow, status__in=FINISHED_RUN_STATUSES)
    span = runs.aggregate(last=Max("finished_at"), first_started=Min("started_at"))
    first = TriggerEvent.objects.filter(flow=flow).aggregate(first=Min("delivered_at"))["first"]
    count = runs.count()
    if not count or first is None or span["last"] is None:
        return {"runs": count, "seconds": None, "runs_per_s": None}
    seconds = (span["last"] - first).total_seconds()
    return {
        "runs": count,
        "seconds": round(seconds, 2),
        "runs_per_s": round(count / seconds, 1) if seconds > 0 else None,
    }
