"""A connector for engine tests: actions whose effects and failures the tests control."""

import time

from automate.connectors.base import (
    ActionCall,
    ActionError,
    Connector,
    ConnectorAction,
    Param,
    RetryPolicy,
)

# Every effect the actions had, as (step name, idempotency key, inputs).
EFFECTS: list[tuple[str, str, dict]] = []
# Failures still to happen per step name; a step not named here always fails.
FAILURES: dict[str, int] = {}


class Effect(ConnectorAction):
    key = "effect"
    title = "Do something outside"
    inputs = (Param("value", "Value", type="json"), Param("key", "Key", type="secret"))

    def run(self, call: ActionCall) -> dict:
        EFFECTS.append((call.step_name, call.idempotency_key, call.inputs))
        return {"body": {"value": call.inputs.get("value"), "attempt": call.attempt}}


class Read(Effect):
    key = "read"
    title = "Read something"
    repeatable = True


class Fail(ConnectorAction):
    key = "fail"
    title = "Fail"
    inputs = (
        Param("message", "Message"),
        Param("retryable", "Retryable", type="boolean"),
        Param("code", "Code"),
    )
    retry_policy = RetryPolicy(kind="exponential", count=2, interval=10)

    def run(self, call: ActionCall) -> dict:
        EFFECTS.append((call.step_name, call.idempotency_key, call.inputs))
        remaining = FAILURES.get(call.step_name)
        if remaining is None or remaining > 0:
            if remaining is not None:
                FAILURES[call.step_name] = remaining - 1
            raise ActionError(
                call.inputs.get("message") or "It failed.",
                retryable=bool(call.inputs.get("retryable")),
                code=call.inputs.get("code") or "",
            )
        return {"body": "recovered"}


class Slow(ConnectorAction):
    """Takes its time, and notes the run's lease before and after."""

    key = "slow"
    title = "Take a while"
    inputs = (Param("seconds", "Seconds", type="number"),)
    repeatable = True

    def run(self, call: ActionCall) -> dict:
        from automate.models import FlowRun

        def lease():
            return FlowRun.objects.values_list("lease_until", flat=True).get(pk=call.run.pk)

        before = lease()
        time.sleep(float(call.inputs["seconds"]))
        EFFECTS.append((call.step_name, call.idempotency_key, {"leases": (before, lease())}))
        return {"body": None}


class Testing(Connector):
    key = "testing"
    name = "Testing"
    actions = (Effect, Read, Fail, Slow)
