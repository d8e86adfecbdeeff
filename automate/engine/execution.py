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
import json
import logging
import threading
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

    def __init__(self, run: FlowRun, token):
        self.run = run
        self.token = token
        self.definition = run.version.definition
        self.rows: dict[str, StepRun] = {row.path: row for row in run.steps.all()}
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
        self.renew_lease()
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

    def save_row(self, row: StepRun) -> StepRun:
        """Insert or update the row; the run's progress moves when a top-level step ends."""
        with transaction.atomic():
            self._save_row(row)
        return row

    def _save_row(self, row: StepRun) -> None:
        if row.is_finished and row.finished_at is None:
            row.finished_at = timezone.now()
        row.save()
        self.rows[row.path] = row
        if row.is_finished and row.depth == 0:
            done = sum(1 for r in self.rows.values() if r.depth == 0 and r.is_finished)
            FlowRun.objects.filter(pk=self.run.pk).update(steps_done=done)

    def finish(self, row: StepRun, status: str, *, outputs=None, error=None) -> str:
        row.status = status
        row.outputs = outputs
        row.error = error
        row.next_attempt_at = None
        row.finished_at = timezone.now()
        self.save_row(row)
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
        self.save_row(row)
        call = self.action_call(step, path, row, inputs)
        try:
            with lease_heartbeat(self.run.pk, self.token):
                if action.transactional:
                    # The action's rows and the step's "Succeeded" commit together or not at all.
                    with transaction.atomic():
                        outputs = self._call(action, call)
                        self.finish(row, StepStatus.SUCCEEDED, outputs=outputs)
                    return row.status
                outputs = self._call(action, call)
        except ActionError as error:
            return self._action_failed(step, action, row, error)
        self.finish(row, StepStatus.SUCCEEDED, outputs=outputs)
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
        self, step: dict, action: ConnectorAction, row: StepRun, error: ActionError
    ) -> str:
        policy = RetryPolicy.from_definition(step.get("retryPolicy"), action.retry_policy)
        delay = policy.delay(row.attempts) if error.retryable else None
        if delay is None:
            # Power Automate's TimedOut: what "run after has timed out" handles.
            status = StepStatus.TIMED_OUT if error.code == TIMEOUT else StepStatus.FAILED
            return self.finish(row, status, error=error.as_dict())
        row.status = StepStatus.WAITING
        row.error = {**error.as_dict(), "attempt": row.attempts}
        row.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
        self.save_row(row)
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

    # -- the lease -----------------------------------------------------------------------

    def renew_lease(self) -> None:
        """Check the run is still ours and in time, before every step."""
        if timezone.now() >= self.run.deadline:
            raise Terminate(RunStatus.TIMED_OUT, "The run reached its time limit.")
        if not extend_lease(self.run.pk, self.token):
            raise Stop()


def extend_lease(run_id: int, token) -> bool:
    """Hold the run for another lease period; False when this delivery no longer holds it."""
    until = timezone.now() + datetime.timedelta(seconds=settings.AUTOMATE_RUN_LEASE_SECONDS)
    held = FlowRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, lease_token=token)
    return bool(held.update(lease_until=until))


@contextmanager
def lease_heartbeat(run_id: int, token) -> Iterator[None]:
    """Keep renewing the run's lease while a long step runs.

    Without it, a step longer than the lease would let the sweeper hand the run to a second
    worker while the first is still busy with it. The beat dies with its worker, so a dead
    worker's lease still runs out.
    """
    lease = settings.AUTOMATE_RUN_LEASE_SECONDS
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(lease / 3):
                try:
                    extend_lease(run_id, token)
                except DatabaseError:
                    log.warning("Could not renew the lease of run %s", run_id, exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"lease-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
