"""Executing one delivery of a run: replaying its definition against its recorded steps.

Every delivery walks the definition from the top. A step whose row has finished is not
run again: its recorded status and outputs stand in for it (that is what makes a
redelivered task safe). A step without a finished row runs now. Control steps record
what they decided (the branch, the items, the iterations) before running their chain, so
a replay takes the same path.

A step that must wait (a delay, a retry back-off) raises ``Suspend``: the run becomes a
waiting row that the tick wakes later. Nothing waits inside a worker. A waiting action
(``WaitingAction``: Start and wait for an approval) is started once and checked again at
each later delivery; what it waits for wakes the run at once. The control steps are in
``automate.engine.control``.
"""

from __future__ import annotations

import datetime
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, OperationalError, connections, transaction
from django.utils import timezone

from automate import expressions
from automate.connectors import find_action
from automate.connectors.base import (
    TIMEOUT,
    ActionCall,
    ActionError,
    ConnectorAction,
    RetryPolicy,
    Wait,
    WaitingAction,
)
from automate.engine.commits import engine_transaction
from automate.engine.control import CONTROL_HANDLERS
from automate.engine.state import Scope, StepsView, Stop, Suspend, Terminate
from automate.engine.values import (
    json_safe,
    mask_secrets,
)
from automate.models import FlowRun, RunStatus, StepRun, StepStatus

__all__ = ["Execution", "Stop", "Suspend", "Terminate", "lease_heartbeat"]

log = logging.getLogger(__name__)

# Step outputs are kept in the history and read back by later steps.
MAX_OUTPUTS_BYTES = 16 * 1024 * 1024

RAN = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.TIMED_OUT)


class Execution:
    """One delivery of one run, holding the lease ``token``."""

    def __init__(self, run: FlowRun, token, *, rows: dict[str, StepRun] | None = None):
        self.run = run
        self.token = token
        self.definition = run.version.definition
        if rows is None:
            rows = {row.path: row for row in run.steps.all()}
        self.rows: dict[str, StepRun] = rows
        self.variables: dict = dict(run.variables or {})
        self.owner = run.flow.owner

    # -- the chain ----------------------------------------------------------------------

    def execute(self) -> str:
        """Run the top-level chain; the outcome is the run's status."""
        outcome = self.execute_chain(self.definition.get("steps", []), Scope())
        return RunStatus.FAILED if outcome == StepStatus.FAILED else RunStatus.SUCCEEDED

    def execute_chain(self, steps: list, scope: Scope) -> str:
        """Run the steps in order, each after the previous one as its runAfter says.

        The chain's outcome is Failed when the last step that ran failed or timed out,
        as Power Automate decides a run's outcome.
        """
        previous: str | None = None
        last_ran: str | None = None
        for step in steps:
            path = scope.prefix + step["name"]
            run_after = step.get("runAfter") or [StepStatus.SUCCEEDED]
            if previous is not None and previous not in run_after:
                status = self.skip(step, path, scope)
            else:
                status = self.execute_step(step, path, scope)
            previous = status
            if status in RAN:
                last_ran = status
        if last_ran in (StepStatus.FAILED, StepStatus.TIMED_OUT):
            return StepStatus.FAILED
        return StepStatus.SUCCEEDED

    def execute_step(self, step: dict, path: str, scope: Scope) -> str:
        row = self.rows.get(path)
        if row is not None and row.is_finished:
            return row.status
        self.check_deadline()
        kind = step["type"]
        handler = CONTROL_HANDLERS.get(kind)
        if handler is not None:
            return handler(self, step, path, scope, row)
        return self.execute_action(step, path, scope, row)

    # -- rows ----------------------------------------------------------------------------

    def new_row(self, step: dict, path: str, scope: Scope, **fields) -> StepRun:
        row = StepRun(
            run=self.run,
            path=path,
            name=step["name"],
            action=step["type"],
            position=len(self.rows),
            depth=scope.depth,
            started_at=timezone.now(),
            **fields,
        )
        return row

    def save_row(
        self,
        row: StepRun,
        *,
        held: bool = True,
        durable: bool = False,
        joined: bool = False,
        run_fields=None,
    ) -> StepRun:
        """Insert or update the row, in one transaction with the run's lease (see
        ``_save_row``).

        ``durable``: the commit waits for the disk (``automate.engine.commits``), as it
        must when an action with effects outside the database follows or has happened.
        ``joined``: part of a transactional action's transaction, which rolls back as a
        whole when anything in it fails: no savepoint of its own.
        """
        with engine_transaction(durable=durable, savepoint=not joined):
            self._save_row(row, held=held, run_fields=run_fields)
        return row

    def _save_row(self, row: StepRun, *, held: bool = True, run_fields=None) -> None:
        """Write the row and, in one UPDATE of the run, renew the lease, move the progress
        when a top-level step ends and save ``run_fields`` (the variables).

        ``held``: the UPDATE matches only while this delivery holds the run, and when it
        does not (the run was cancelled, timed out or handed on) the transaction rolls
        back and the delivery stops: a step's row, and a transactional action's effects,
        commit only while the run is ours. Each step writes its row, so each step checks
        this before its effects commit. The outcome of an action whose effects happened
        outside the database is recorded whatever happened to the run (``held=False``).
        """
        if row.is_finished and row.finished_at is None:
            row.finished_at = timezone.now()
        row.save()
        fields = dict(run_fields or {})
        if row.is_finished and row.depth == 0:
            rows = {**self.rows, row.path: row}.values()
            fields["steps_done"] = sum(1 for r in rows if r.depth == 0 and r.is_finished)
        if held:
            fields["lease_until"] = lease_end()
            if not _held(self.run.pk, self.token).update(**fields):
                raise Stop()
        elif fields:
            FlowRun.objects.filter(pk=self.run.pk).update(**fields)
        self.rows[row.path] = row

    def finish(
        self,
        row: StepRun,
        status: str,
        *,
        outputs=None,
        error=None,
        held: bool = True,
        durable: bool = False,
        joined: bool = False,
    ) -> str:
        row.status = status
        row.outputs = outputs
        row.error = error
        row.next_attempt_at = None
        row.finished_at = timezone.now()
        self.save_row(row, held=held, durable=durable, joined=joined)
        return status

    def skip(self, step: dict, path: str, scope: Scope) -> str:
        row = self.rows.get(path)
        if row is not None and row.is_finished:
            return row.status
        row = row or self.new_row(step, path, scope, status=StepStatus.SKIPPED)
        row.started_at = None
        error = {
            "code": "ActionConditionFailed",
            "message": "Skipped: the previous step did not end as this step's run after asks.",
        }
        return self.finish(row, StepStatus.SKIPPED, error=error)

    def fail(self, row: StepRun, message: str, code: str = "InvalidTemplate") -> str:
        return self.finish(
            row,
            StepStatus.FAILED,
            error={"code": code, "message": message, "retryable": False},
        )

    # -- expressions ---------------------------------------------------------------------

    def context(self, scope: Scope) -> expressions.ExpressionContext:
        return expressions.ExpressionContext(
            trigger=self.run.trigger_data,
            steps=StepsView(self.rows, scope),
            items=scope.items,
            iteration_indexes=scope.indexes,
            variables={name: v["value"] for name, v in self.variables.items()},
            now=timezone.now(),
            workflow={
                "name": str(self.run.flow.system_id),
                "displayName": self.run.flow.name,
                "run": {"name": str(self.run.system_id), "id": self.run.pk},
            },
        )

    def render(self, value, scope: Scope):
        return expressions.render(value, self.context(scope))

    # -- connector actions ---------------------------------------------------------------

    def execute_action(self, step: dict, path: str, scope: Scope, row: StepRun | None) -> str:
        action = find_action(step["type"])
        row = row or self.new_row(step, path, scope, status=StepStatus.RUNNING)
        if action is None:
            return self.fail(row, f"The action {step['type']!r} is not available.", "NotFound")
        if isinstance(action, WaitingAction):
            return self.execute_waiting(step, path, scope, row, action)
        now = timezone.now()
        interrupted = row.pk is not None and row.status == StepStatus.RUNNING
        if interrupted and not (action.transactional or action.repeatable):
            # The delivery that started it died midway: it may have happened. Doing it
            # again could do it twice, so it stops here and says so.
            return self.fail(
                row,
                "The worker stopped while this step was running, so it may or may not "
                "have been done. It is not repeated automatically: check, then resubmit "
                "the run.",
                code="Interrupted",
            )
        if row.status == StepStatus.WAITING and row.next_attempt_at and row.next_attempt_at > now:
            raise Suspend(row.next_attempt_at)
        try:
            inputs = self.render(step.get("inputs", {}), scope)
        except expressions.ExpressionError as error:
            return self.fail(row, f"An expression in the inputs failed: {error}")
        row.status = StepStatus.RUNNING
        row.attempts += 1
        row.inputs = mask_secrets(action, inputs)
        row.next_attempt_at = None
        # The row says the step is running before the action starts, and commits only
        # while the run is ours: the action never starts for a run cancelled or handed
        # on, and a delivery that dies during it leaves the attempt in the history.
        # An action with effects outside the database waits for the disk before it starts
        # and when its outcome is recorded, which is recorded whatever happened to the
        # run meanwhile: the effects did happen. One safe to do again (repeatable, or
        # transactional: its effects commit with its outcome) need not wait. A
        # transactional outcome commits only while the run is still ours, so a run taken
        # over meanwhile does not get its effects twice; a repeatable one checks that when
        # it updates the run's progress anyway (a top-level step).
        once = action.transactional or action.repeatable
        durable = not once
        held = action.transactional or (once and row.depth == 0)
        self.save_row(row, durable=durable)
        call = self.action_call(step, path, row, inputs)
        try:
            with lease_heartbeat(self.run.pk, self.token):
                if action.transactional:
                    # The action's rows and the step's "Succeeded" commit together or not at all.
                    with transaction.atomic():
                        outputs = self._call(action, call)
                        self.finish(row, StepStatus.SUCCEEDED, outputs=outputs, joined=True)
                    return row.status
                outputs = self._call(action, call)
        except ActionError as error:
            return self._action_failed(step, action, row, error, held=held, durable=durable)
        self.finish(row, StepStatus.SUCCEEDED, outputs=outputs, held=held, durable=durable)
        return row.status

    def action_call(self, step: dict, path: str, row: StepRun, inputs: dict) -> ActionCall:
        return ActionCall(
            inputs=inputs,
            company=self.run.company,
            user=self.owner,
            run=self.run,
            step_name=step["name"],
            # Stable across redeliveries: what services deduplicate on.
            idempotency_key=f"{self.run.system_id}:{path}",
            attempt=row.attempts,
        )

    def _call(self, action: ConnectorAction, call: ActionCall) -> dict:
        return self._outputs(self._invoke(action, action.run, call))

    def _invoke(self, action: ConnectorAction, method, *args):
        """Call one of the action's methods; whatever goes wrong becomes an ActionError."""
        try:
            return method(*args)
        except ActionError:
            raise
        except OperationalError as error:
            raise ActionError(f"The database was busy: {error}", retryable=True) from error
        except DatabaseError as error:
            log.exception("Action %s failed on the database", action.type)
            raise ActionError(f"The database refused the change: {error}") from error
        except Exception as error:
            log.exception("Action %s failed unexpectedly", action.type)
            raise ActionError(
                f"The action failed unexpectedly ({type(error).__name__}: {error}).",
                code="InternalError",
            ) from error

    def _outputs(self, outputs) -> dict:
        outputs = json_safe(outputs if outputs is not None else {"body": None})
        if not isinstance(outputs, dict):
            outputs = {"body": outputs}
        if len(json.dumps(outputs)) > MAX_OUTPUTS_BYTES:
            raise ActionError(
                f"The action's outputs are larger than {MAX_OUTPUTS_BYTES // (1024 * 1024)} MB."
            )
        return outputs

    def _action_failed(
        self,
        step: dict,
        action: ConnectorAction,
        row: StepRun,
        error: ActionError,
        *,
        held: bool = True,
        durable: bool = False,
    ) -> str:
        policy = RetryPolicy.from_definition(step.get("retryPolicy"), action.retry_policy)
        delay = policy.delay(row.attempts) if error.retryable else None
        if delay is None:
            # Power Automate's TimedOut: what "run after has timed out" handles.
            status = StepStatus.TIMED_OUT if error.code == TIMEOUT else StepStatus.FAILED
            return self.finish(row, status, error=error.as_dict(), held=held, durable=durable)
        row.status = StepStatus.WAITING
        row.error = {**error.as_dict(), "attempt": row.attempts}
        row.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
        self.save_row(row, held=held, durable=durable)
        raise Suspend(row.next_attempt_at)

    # -- waiting actions -----------------------------------------------------------------

    def execute_waiting(
        self, step: dict, path: str, scope: Scope, row: StepRun, action: WaitingAction
    ) -> str:
        """Start a waiting action once, then check it at each delivery until it is done.

        1. A row that waits with outputs has started (the outputs are the action's state):
           it is checked, with the inputs it started with.
        2. Any other row (new, a start whose delivery died and rolled back, a start waiting
           for its retry) starts, once its retry time has come.
        3. The call, its effects and what they mean for the step (done; still waiting, with
           the run parked; out of time) commit in one transaction. Parking the run there,
           rather than after the delivery, is what keeps a wake-up from being lost: an
           outcome that commits after the check finds the run waiting and wakes it.
        """
        started = (
            row.pk is not None and row.status == StepStatus.WAITING and row.outputs is not None
        )
        if started:
            inputs, state = row.inputs or {}, row.outputs
        else:
            if (
                row.status == StepStatus.WAITING
                and row.next_attempt_at
                and row.next_attempt_at > timezone.now()
            ):
                raise Suspend(row.next_attempt_at)
            try:
                inputs = self.render(step.get("inputs", {}), scope)
            except expressions.ExpressionError as error:
                return self.fail(row, f"An expression in the inputs failed: {error}")
            state = None
            row.status = StepStatus.RUNNING
            row.attempts += 1
            row.inputs = mask_secrets(action, inputs)
            row.next_attempt_at = None
            self.save_row(row)
        call = self.action_call(step, path, row, inputs)
        try:
            with transaction.atomic():
                if state is None:
                    result = self._invoke(action, action.start, call)
                else:
                    result = self._invoke(action, action.check, call, state)
                wake_at = self._settle(action, call, row, result)
        except ActionError as error:
            if started:
                row.attempts += 1  # a check that failed counts against the retry policy
            return self._action_failed(step, action, row, error)
        if wake_at is not None:
            raise Suspend(wake_at)
        return row.status

    def _settle(
        self, action: WaitingAction, call: ActionCall, row: StepRun, result
    ) -> datetime.datetime | None:
        """Record what the start or the check answered; the time to wake when it waits."""
        if not isinstance(result, Wait):
            self.finish(row, StepStatus.SUCCEEDED, outputs=self._outputs(result))
            return None
        if result.until <= timezone.now():
            error = self._invoke(action, action.expire, call, result.state)
            status = StepStatus.TIMED_OUT if error.code == TIMEOUT else StepStatus.FAILED
            self.finish(row, status, error=error.as_dict())
            return None
        row.status = StepStatus.WAITING
        row.outputs = json_safe(result.state)
        row.error = None
        row.next_attempt_at = result.until
        self.save_row(row)
        parked = FlowRun.objects.filter(
            pk=self.run.pk, status=RunStatus.RUNNING, lease_token=self.token
        ).update(status=RunStatus.WAITING, wake_at=result.until, lease_token=None, lease_until=None)
        if not parked:
            # The run was cancelled or handed on meanwhile: what was just done rolls back.
            raise Stop()
        return result.until

    # -- time ------------------------------------------------------------------------------

    def check_deadline(self) -> None:
        """Before every step: a run past its time limit ends as Timed out. (Whether the
        run is still this delivery's is checked with each row the step writes.)"""
        if timezone.now() >= self.run.deadline:
            raise Terminate(RunStatus.TIMED_OUT, "The run reached its time limit.")


def lease_end() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=settings.AUTOMATE_RUN_LEASE_SECONDS)


def _held(run_id: int, token):
    """The run, while this delivery holds it."""
    return FlowRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, lease_token=token)


def extend_lease(run_id: int, token) -> bool:
    """Hold the run for another lease period; False when this delivery no longer holds it."""
    return bool(_held(run_id, token).update(lease_until=lease_end()))


class _Heartbeat:
    """Renews the leases of the runs whose steps are running, from one thread a process.

    Without it, a step longer than the lease would let the sweeper hand the run to a second
    worker while the first is still busy with it. The thread dies with its worker, so a
    dead worker's lease still runs out. (One thread for all steps: starting and joining a
    thread for each step cost more than the step's own statements.)
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            # A prefork pool's child starts with no thread and a lock of its own.
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._changed = threading.Condition()
        # key: [run id, lease token, next renewal (monotonic), seconds between renewals]
        self._held: dict[int, list] = {}
        self._keys = itertools.count()
        self._thread: threading.Thread | None = None
        self._wakes_at = 0.0

    def hold(self, run_id: int, token) -> int:
        every = settings.AUTOMATE_RUN_LEASE_SECONDS / 3
        due = time.monotonic() + every
        with self._changed:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="lease", daemon=True)
                self._thread.start()
            key = next(self._keys)
            self._held[key] = [run_id, token, due, every]
            if due < self._wakes_at:
                # Sooner than the thread wakes (the lease setting changed): wake it now.
                self._changed.notify()
        return key

    def release(self, key: int) -> None:
        with self._changed:
            self._held.pop(key, None)

    def _due(self) -> list[tuple[int, object]]:
        """Wait until a held lease needs renewing; the runs whose lease does."""
        with self._changed:
            while True:
                now = time.monotonic()
                due = [entry for entry in self._held.values() if entry[2] <= now]
                if due:
                    for entry in due:
                        entry[2] = now + entry[3]
                    return [(entry[0], entry[1]) for entry in due]
                # With nothing held, look again a renewal period from now: a step held
                # meanwhile is due no sooner (unless the setting changed: see hold).
                every = settings.AUTOMATE_RUN_LEASE_SECONDS / 3
                self._wakes_at = min((e[2] for e in self._held.values()), default=now + every)
                self._changed.wait(self._wakes_at - now)

    def _beat(self) -> None:
        while True:
            for run_id, token in self._due():
                try:
                    extend_lease(run_id, token)
                except Exception:  # the thread must outlive any one renewal
                    log.warning("Could not renew the lease of run %s", run_id, exc_info=True)
            # Renewals are a third of a lease apart: no connection is kept open between.
            connections.close_all()


_heartbeat = _Heartbeat()


@contextmanager
def lease_heartbeat(run_id: int, token) -> Iterator[None]:
    """Keep renewing the run's lease while a step runs, however long it takes."""
    key = _heartbeat.hold(run_id, token)
    try:
        yield
    finally:
        _heartbeat.release(key)
