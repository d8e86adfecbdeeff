"""``manage.py bench_flow_pages``: server time and query counts of Power Automate's pages.

Like ``bench_pages`` it measures with Django's test client in one process, as the demo user
``sales``. The data is topped up first, on the database that DATABASE_URL names: the demo
company (``seed_demo``), the user's instant flows (the gallery's templates and summary
flows on customers, items and sales orders), and runs of the summary flows over the last
30 days, with the step rows, mails and documents the engine would have left. Rows already
there count, so a second call adds nothing. Prints a table and writes JSON to var/bench/.
"""

from __future__ import annotations

import copy
import datetime
import html
import itertools
import json
import os
import platform
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import BaseCommand, CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from automate import gallery
from automate.automate_group import run_progress_url
from automate.connectors.outlook import message_id
from automate.models import Document, Flow, FlowRun, RunStatus, SentEmail, StepRun, StepStatus
from automate.services import flow_create
from automate.services.run_days import run_days_rebuild
from bcsite.bench import page_time, print_table
from bcsite.pages.site import card_page_for_model
from bcsite.registry import Table, registry
from records.demo import COMPANY_NAME
from records.models import Company, Customer

SAMPLES = 30
BATCH = 2000
SEED = 20240115
USERNAME = "sales"
HISTORY_DAYS = 30
# The newest runs are this old, so none was started after the measurement's "now".
NEWEST_RUN_AGE = datetime.timedelta(minutes=5)
# Each run is about one of this many records of its table: people run flows on a few.
RECORD_POOL = 500
PROGRESS_RUNS = 10
FAILED_SHARE = 0.14
CANCELLED_SHARE = 0.03
DOCUMENT_LIBRARY = "Documents"
SUMMARY_FOLDER = "Summaries"

# The summary flows run the first 3 to 6 of these steps. A run fails at Get_record (the
# record went away meanwhile), waits at Wait_for_review, or is cancelled while it waits.
SUMMARY_STEPS = (
    {
        "name": "Get_record",
        "type": "business_central.get_record",
        "inputs": {"table": None, "id": gallery.RECORD_ID},
        "title": "Get record",
    },
    {
        "name": "Compose_summary",
        "type": "data.compose",
        "inputs": {
            "value": {
                "number": "@triggerBody()?['number']",
                "name": "@triggerBody()?['displayName']",
                "requestedBy": "@triggerBody()?['userName']",
            }
        },
        "title": "Compose summary",
    },
    {
        "name": "Wait_for_review",
        "type": "control.delay",
        "inputs": {"count": 2, "unit": "day"},
        "title": "Wait for review",
    },
    {
        "name": "Send_summary",
        "type": "outlook.send_email",
        "inputs": {
            "to": "@{triggerBody()?['userEmail']}",
            "subject": "Summary of @{triggerBody()?['number']}",
            "body": "<p>@{body('Compose_summary')}</p>",
        },
        "title": "Send summary",
    },
    {
        "name": "Save_summary",
        "type": "sharepoint.create_file",
        "inputs": {
            "folder": SUMMARY_FOLDER,
            "name": "@{triggerBody()?['number']}.json",
            "content": "@{body('Compose_summary')}",
            "overwrite": True,
        },
        "title": "Save summary",
    },
    {
        "name": "Compose_result",
        "type": "data.compose",
        "inputs": {"value": {"file": "@body('Save_summary')?['path']"}},
        "title": "Compose result",
    },
)
SUMMARY_NAMES = tuple(step["name"] for step in SUMMARY_STEPS)
MIN_SUMMARY_STEPS, MAX_SUMMARY_STEPS = 3, len(SUMMARY_STEPS)
WAIT = datetime.timedelta(days=SUMMARY_STEPS[2]["inputs"]["count"])
SUMMARY_TABLES = (
    (gallery.CUSTOMER, "Customer"),
    (gallery.ITEM, "Item"),
    (gallery.SALES_ORDER, "Sales order"),
)


# -- Flows --------------------------------------------------------------------------------


def summary_definition(table_id: int, steps: int) -> dict:
    chain = copy.deepcopy(list(SUMMARY_STEPS[:steps]))
    chain[0]["inputs"]["table"] = table_id
    return {
        "schemaVersion": 1,
        "trigger": {"type": "selected_record", "table": table_id, "inputs": []},
        "steps": chain,
    }


def _instant_templates() -> list[gallery.FlowTemplate]:
    """The gallery's instant templates: what the Automate group lists. Automated and
    scheduled flows would start runs of their own while the pages are measured."""
    return [
        t for t in gallery.GALLERY.values() if t.definition["trigger"]["type"] == "selected_record"
    ]


def _flow_specs(taken_keys: set[str], taken_names: set[str]) -> Iterator[dict]:
    """The flows to add, in order: the gallery's templates the user has no flow of yet,
    then summary flows of 3 to 6 steps, taking turns over the tables."""
    for template in _instant_templates():
        if template.key not in taken_keys:
            yield {
                "name": template.title,
                "definition": copy.deepcopy(template.definition),
                "description": template.description,
                "template_key": template.key,
                "concurrency_limit": template.concurrency_limit,
            }
    for index in itertools.count():
        table_id, noun = SUMMARY_TABLES[index % len(SUMMARY_TABLES)]
        steps = MIN_SUMMARY_STEPS + index % (MAX_SUMMARY_STEPS - MIN_SUMMARY_STEPS + 1)
        name = f"{noun} summary {index + 1:02d}"
        if name not in taken_names:
            yield {
                "name": name,
                "definition": summary_definition(table_id, steps),
                "description": f"Mails and files a summary of the selected {noun.lower()}.",
            }


def flows_top_up(*, company: Company, user, target: int) -> int:
    """Top the user's flows up to ``target``; returns how many were added."""
    flows = Flow.objects.filter(company=company, owner=user)
    missing = target - flows.count()
    if missing <= 0:
        return 0
    specs = _flow_specs(
        set(flows.values_list("template_key", flat=True)),
        set(flows.values_list("name", flat=True)),
    )
    for spec in itertools.islice(specs, missing):
        flow_create(company=company, owner=user, **spec)
    return missing


@dataclass(frozen=True)
class Plan:
    """A summary flow that runs can be made for, and the names of its steps."""

    flow: Flow
    steps: tuple[str, ...]


def summary_plans(*, company: Company, user) -> list[Plan]:
    flows = (
        Flow.objects.filter(company=company, owner=user, trigger_type="selected_record")
        .exclude(current_version=None)
        .select_related("current_version")
        .order_by("pk")
    )
    plans = []
    for flow in flows:
        steps = flow.current_version.definition.get("steps") or []
        names = tuple(step.get("name") for step in steps if isinstance(step, dict))
        if len(names) >= MIN_SUMMARY_STEPS and names == SUMMARY_NAMES[: len(names)]:
            plans.append(Plan(flow, names))
    return plans


# -- Runs ---------------------------------------------------------------------------------


def _trigger_bodies(company: Company, user, table: Table, rng: random.Random) -> list[dict]:
    """The trigger bodies of runs on up to RECORD_POOL records of ``table``, as
    ``instant_flow_run`` builds them."""
    rows = table.model.objects.filter(company=company)
    ids = list(rows.order_by("pk").values_list("pk", flat=True))
    chosen = rng.sample(ids, min(RECORD_POOL, len(ids)))
    related = {f.attribute.split("__")[0] for f in table.fields if "__" in f.attribute}
    page = card_page_for_model(table.model)
    bodies = []
    for record in rows.filter(pk__in=chosen).select_related(*related).order_by("pk"):
        bodies.append(
            {
                **table.to_dict(record),
                "tableId": table.id,
                "tableName": table.name,
                "recordId": str(record.system_id),
                "recordUrl": page.card_url(record) if page else "",
                "pageKey": page.key if page else "",
                "companyId": str(company.system_id),
                "companyName": company.name,
                "userName": user.get_username(),
                "userEmail": user.email,
                "inputs": {},
            }
        )
    return bodies


def _text(value: Any, length: int) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)[:length]


@dataclass
class Batch:
    runs: list[FlowRun] = field(default_factory=list)
    steps: list[StepRun] = field(default_factory=list)
    mails: list[SentEmail] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)


class RunWriter:
    """Builds one run with the rows its steps leave, as the engine would have written them.

    The clock moves through the steps; a step's inputs are what the definition renders to
    for the run's record, its outputs what the action returns.
    """

    def __init__(self, *, company: Company, user, documents: dict[str, uuid.UUID], now):
        self.company = company
        self.user = user
        self.documents = documents  # file name -> id, of the documents already written
        self.now = now

    def add(self, batch: Batch, plan: Plan, body: dict, created, rng: random.Random) -> None:
        age = self.now - created
        roll = rng.random()
        if roll < FAILED_SHARE:
            outcome = RunStatus.FAILED
        elif age < WAIT:
            outcome = RunStatus.WAITING
        elif roll < FAILED_SHARE + CANCELLED_SHARE:
            outcome = RunStatus.CANCELLED
        else:
            outcome = RunStatus.SUCCEEDED
        # Random, not seeded: runs pruned since a top-up must not come back with their ids.
        system_id = uuid.uuid4()
        started = created + _seconds(rng, 0.1, 1.5)
        run = FlowRun(
            flow=plan.flow,
            version_id=plan.flow.current_version_id,
            company=self.company,
            system_id=system_id,
            idempotency_key=f"run:{system_id}",
            status=outcome,
            triggered_by=self.user,
            trigger_data={"body": body, "headers": {}},
            record_number=_text(body.get("number"), 100),
            record_name=_text(body.get("displayName"), 250),
            record_path=_text(body.get("recordUrl"), 500),
            steps_total=len(plan.steps),
            deliveries=1,
            deadline=created + datetime.timedelta(seconds=settings.AUTOMATE_RUN_TIME_LIMIT),
            created_at=created,
            started_at=started,
        )
        batch.runs.append(run)
        self._steps(batch, run, plan, body, started, rng)

    def _steps(self, batch: Batch, run: FlowRun, plan: Plan, body: dict, clock, rng) -> None:
        summary = {
            "number": body.get("number"),
            "name": body.get("displayName"),
            "requestedBy": self.user.get_username(),
        }
        summary_text = json.dumps(summary, ensure_ascii=False)
        file_name = f"{body.get('number')}.json"
        path = f"/{DOCUMENT_LIBRARY}/{SUMMARY_FOLDER}/{file_name}"
        rows: list[StepRun] = []
        for position, name in enumerate(plan.steps):
            step = StepRun(
                run=run,
                path=name,
                name=name,
                action=SUMMARY_STEPS[position]["type"],
                position=position,
                status=StepStatus.SUCCEEDED,
                attempts=1,
                started_at=clock,
            )
            rows.append(step)
            if run.status == RunStatus.FAILED and position > 0:
                step.status, step.attempts, step.finished_at = StepStatus.SKIPPED, 0, clock
                continue
            if name == "Get_record":
                clock += _seconds(rng, 0.02, 0.25)
                step.inputs = {"table": body["tableId"], "id": body["recordId"]}
                if run.status == RunStatus.FAILED:
                    message = (
                        f"{body['tableName']} {body['recordId']} does not exist in company "
                        f"{self.company.name}."
                    )
                    step.status = StepStatus.FAILED
                    step.error = {"code": "NotFound", "message": message, "retryable": False}
                    run.error = f"Get record failed: {message}"
                else:
                    record = {k: v for k, v in body.items() if k not in _TRIGGER_EXTRAS}
                    step.outputs = {"body": record}
            elif name == "Compose_summary":
                clock += _seconds(rng, 0.001, 0.01)
                step.inputs, step.outputs = {"value": summary}, {"body": summary}
            elif name == "Wait_for_review":
                step.inputs = {"count": WAIT.days, "unit": "day"}
                if run.status == RunStatus.WAITING:
                    step.status, step.next_attempt_at = StepStatus.WAITING, clock + WAIT
                    run.wake_at = step.next_attempt_at
                    break
                if run.status == RunStatus.CANCELLED:
                    clock += _seconds(rng, 60, WAIT.total_seconds())
                    step.status, step.finished_at = StepStatus.CANCELLED, clock
                    run.error = f"Cancelled by {self.user.get_username()}."
                    break
                clock += WAIT + _seconds(rng, 0.5, 20)
                step.outputs = {"waitedUntil": clock.isoformat()}
                run.deliveries = 2
            elif name == "Send_summary":
                clock += _seconds(rng, 0.2, 1.2)
                self._mail(batch, run, step, summary_text, clock)
            elif name == "Save_summary":
                clock += _seconds(rng, 0.05, 0.4)
                self._document(batch, run, step, file_name, summary_text, clock)
            else:
                clock += _seconds(rng, 0.001, 0.01)
                step.inputs, step.outputs = {"value": {"file": path}}, {"body": {"file": path}}
            step.finished_at = clock
        batch.steps.extend(rows)
        run.steps_done = sum(1 for step in rows if step.finished_at is not None)
        if run.status != RunStatus.WAITING:
            run.finished_at = clock

    def _mail(self, batch: Batch, run: FlowRun, step: StepRun, summary_text: str, sent) -> None:
        subject = f"Summary of {run.record_number}"
        key = f"{run.system_id}:{step.path}"
        mail = SentEmail(
            company=self.company,
            run=run,
            flow=run.flow,
            step_key=key,
            sender=settings.DEFAULT_FROM_EMAIL,
            to=[self.user.email],
            subject=subject,
            body=f"<p>{html.escape(summary_text)}</p>",
            message_id=message_id(key),
            sent_at=sent,
        )
        batch.mails.append(mail)
        step.inputs = {"to": self.user.email, "subject": subject, "body": mail.body}
        step.outputs = {"body": {"messageId": mail.message_id, "to": mail.to, "subject": subject}}

    def _document(self, batch, run: FlowRun, step: StepRun, name: str, content: str, at) -> None:
        """The first run to save a record's summary creates its document; later runs
        overwrite it, which leaves the row as it is."""
        data = content.encode()
        step.inputs = {
            "folder": SUMMARY_FOLDER,
            "name": name,
            "content": content,
            "overwrite": True,
        }
        if name not in self.documents:
            document = Document(
                company=self.company,
                library=DOCUMENT_LIBRARY,
                folder=SUMMARY_FOLDER,
                name=name,
                size=len(data),
                content_type="application/json",
                created_by=self.user,
                flow=run.flow,
                run=run,
                created_at=at,
            )
            document.file.save(name, ContentFile(data), save=False)
            batch.documents.append(document)
            self.documents[name] = document.system_id
        step.outputs = {
            "body": {
                "id": str(self.documents[name]),
                "name": name,
                "path": f"/{DOCUMENT_LIBRARY}/{SUMMARY_FOLDER}/{name}",
                "size": len(data),
                "modified": at.isoformat(),
                "isFolder": False,
                "contentType": "application/json",
            }
        }


_TRIGGER_EXTRAS = frozenset(
    {"tableId", "tableName", "recordId", "recordUrl", "pageKey", "companyId", "companyName"}
    | {"userName", "userEmail", "inputs"}
)


def _seconds(rng: random.Random, low: float, high: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=rng.uniform(low, high))


def runs_top_up(
    *, company: Company, user, target: int, log: Callable[[str], None] = lambda _: None
) -> int:
    """Top the company's runs up to ``target``; returns how many were added.

    1. Find the user's summary flows and, per table they run on, the records runs are about.
    2. Draw the new runs' start times over the last HISTORY_DAYS days, oldest first, so
       ids rise with time as they do when runs come in one by one.
    3. Per batch, in one transaction: build the runs with their step rows, mails and
       documents, then ``bulk_create`` the runs (which gives them their ids) and the rest.
    """
    missing = target - FlowRun.objects.filter(company=company).count()
    if missing <= 0:
        return 0
    plans = summary_plans(company=company, user=user)
    if not plans:
        raise CommandError(
            f"{user.get_username()} has no summary flow to run; raise --flows so there is one."
        )
    # Seeded by the runs already there, so the same top-up from the same start is the same.
    rng = random.Random(f"{SEED}-flow-runs-{target - missing}")
    bodies = {
        table_id: _trigger_bodies(company, user, registry.tables[table_id], rng)
        for table_id in sorted({plan.flow.table_id for plan in plans})
    }
    plans = [plan for plan in plans if bodies[plan.flow.table_id]]
    if not plans:
        raise CommandError("The summary flows' tables have no records to run on.")
    now = timezone.now()
    newest, span = now - NEWEST_RUN_AGE, datetime.timedelta(days=HISTORY_DAYS) - NEWEST_RUN_AGE
    starts = sorted(newest - span * rng.random() for _ in range(missing))
    documents = dict(
        Document.objects.filter(
            company=company, library=DOCUMENT_LIBRARY, folder=SUMMARY_FOLDER
        ).values_list("name", "system_id")
    )
    writer = RunWriter(company=company, user=user, documents=documents, now=now)
    for offset in range(0, missing, BATCH):
        batch = Batch()
        for created in starts[offset : offset + BATCH]:
            plan = rng.choice(plans)
            writer.add(batch, plan, rng.choice(bodies[plan.flow.table_id]), created, rng)
        with transaction.atomic():
            FlowRun.objects.bulk_create(batch.runs, batch_size=BATCH)
            StepRun.objects.bulk_create(batch.steps, batch_size=BATCH)
            SentEmail.objects.bulk_create(batch.mails, batch_size=BATCH)
            Document.objects.bulk_create(batch.documents, batch_size=BATCH)
        done = offset + len(batch.runs)
        if done % 20_000 < BATCH or done == missing:
            log(f"  {done} of {missing} runs written.")
    return missing


# -- Measuring ----------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Measure Power Automate's page server time at volume (p50/p95, queries)."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=100_000)
        parser.add_argument("--flows", type=int, default=20)
        parser.add_argument("--orders", type=int, default=100_000)
        parser.add_argument("--customers", type=int, default=10_000)
        parser.add_argument("--samples", type=int, default=SAMPLES)
        parser.add_argument("--output", default=str(settings.VAR_DIR / "bench" / "flow_pages.json"))

    def handle(self, *args, **options):
        needed = len(_instant_templates()) + MAX_SUMMARY_STEPS - MIN_SUMMARY_STEPS + 1
        if options["flows"] < needed:
            raise CommandError(
                f"--flows must be at least {needed}: the gallery's templates and summary "
                f"flows of {MIN_SUMMARY_STEPS} to {MAX_SUMMARY_STEPS} steps."
            )
        if options["samples"] < 1 or options["runs"] < 0:
            raise CommandError("--samples must be at least 1 and --runs at least 0.")
        call_command(
            "seed_demo", orders=options["orders"], customers=options["customers"], verbosity=0
        )
        company = Company.objects.get(name=COMPANY_NAME)
        user = get_user_model().objects.get(username=USERNAME)
        started = time.monotonic()
        added = flows_top_up(company=company, user=user, target=options["flows"])
        added += runs_top_up(
            company=company, user=user, target=options["runs"], log=self.stdout.write
        )
        if added:
            # The bulk load bypassed the engine, which counts each run as it ends.
            run_days_rebuild()
            # Fresh planner statistics, as seed_demo leaves them after its bulk load.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            self.stdout.write(f"Flows and runs topped up in {time.monotonic() - started:.1f} s.")
        # The test client checks ALLOWED_HOSTS like any request does.
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        client.force_login(user)
        results = [
            page_time(client, label, url, options["samples"])
            for label, url in self._cases(client, company, user)
        ]
        report = {
            "benchmark": "flow pages",
            "database": connection.vendor,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "rows": {
                "flows": Flow.objects.filter(company=company, owner=user).count(),
                "runs": FlowRun.objects.filter(company=company).count(),
                "step runs": StepRun.objects.filter(run__company=company).count(),
                "sent emails": SentEmail.objects.filter(company=company).count(),
                "documents": Document.objects.filter(company=company).count(),
            },
            "results": results,
        }
        self._print(report)
        output = Path(options["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
        self.stdout.write(f"Written to {output}")

    def _cases(self, client: Client, company: Company, user) -> list[tuple[str, str]]:
        plans = summary_plans(company=company, user=user)
        longest = [p.flow for p in plans if len(p.steps) == MAX_SUMMARY_STEPS]
        runs = FlowRun.objects.filter(company=company, flow__owner=user)
        run = runs.filter(flow__in=longest, status=RunStatus.SUCCEEDED).first()
        if run is None:
            raise CommandError(
                f"No run of a {MAX_SUMMARY_STEPS}-step flow succeeded; raise --runs."
            )
        history = reverse("automate:run-list")
        older = re.search(r'rel="next" href="([^"]+)"', client.get(history).content.decode())
        if older is None:
            raise CommandError("Run history has one page only; raise --runs.")
        customers = Customer.objects.filter(company=company).order_by("pk")
        customer = customers[random.Random(SEED).randrange(customers.count())]
        customer_card = registry.pages["customer_card"].card_url(customer)
        self._check_flows_offered(client, company, user, customer_card)
        return [
            ("Automate home", reverse("automate:home")),
            ("run history, all runs", history),
            ("run history, failed", f"{history}?status={RunStatus.FAILED}"),
            ("run history, page 2", html.unescape(older.group(1))),
            ("flow run history", reverse("automate:flow-runs", args=[run.flow_id])),
            (f"run page, {MAX_SUMMARY_STEPS} steps", reverse("automate:run-detail", args=[run.pk])),
            (f"progress, {PROGRESS_RUNS} runs", run_progress_url(list(runs[:PROGRESS_RUNS]))),
            ("My flows", reverse("automate:flow-list")),
            ("templates gallery", reverse("automate:gallery")),
            ("customer card with flows", customer_card),
            ("customer list with flows", registry.pages["customer_list"].list_url()),
            ("Sent Emails list", registry.pages["sent_email_list"].list_url()),
            ("Documents list", registry.pages["document_list"].list_url()),
        ]

    def _check_flows_offered(self, client: Client, company: Company, user, url: str) -> None:
        """The customer pages are measured with the user's instant flows in their Automate
        group; a page that offered none would be measured without that work."""
        flow = (
            Flow.objects.filter(
                company=company,
                owner=user,
                trigger_type="selected_record",
                table_id=gallery.CUSTOMER,
                enabled=True,
            )
            .order_by("name", "pk")
            .first()
        )
        if flow is None or html.escape(flow.name) not in client.get(url).content.decode():
            raise CommandError(f"The customer card at {url} offers none of the user's flows.")

    def _print(self, report: dict) -> None:
        rows = ", ".join(f"{n:,} {what}" for what, n in report["rows"].items())
        title = (
            f"Power Automate page server time on {report['database']}, "
            f"{report['cores']} cores, {rows}"
        )
        print_table(self.stdout.write, title, report["results"])
