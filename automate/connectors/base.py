"""The base every connector builds on.

A connector is one module in ``automate.connectors`` defining one ``Connector`` subclass
with its actions. Nothing else needs to change to add one: the package imports every
module in it, and subclasses with a ``key`` register themselves.

An action declares its inputs and outputs (the designer reads them), and runs: it gets
its inputs already rendered from expressions and returns its outputs, Power Automate's
``{"body": ..., "statusCode": ..., "headers": ...}``; ``body('Step')`` reads the body.
It refuses with ``ActionError``, which says whether trying again can help.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from automate.models import FlowRun
    from records.models import Company


# Input types the designer knows how to edit and the engine how to check.
PARAM_TYPES = (
    "text",  # one line
    "multiline",  # several lines (an HTML body, a message)
    "integer",
    "number",
    "boolean",
    "date",
    "choice",  # one of ``choices``
    "table",  # a registered BC table id (bcsite.registry.tables)
    "emails",  # addresses separated by semicolons, or a list of addresses
    "url",
    "json",  # any JSON value: an object of fields, a list of rows
    "secret",  # shown masked in the run history
)


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    type: str = "text"
    required: bool = False
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    default: Any = None
    advanced: bool = False

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"Unknown input type {self.type!r} for {self.name!r}")


@dataclass(frozen=True)
class Output:
    """A value an action returns, offered as dynamic content: ``path`` within the outputs."""

    path: str  # "body/number", "statusCode"
    label: str
    type: str = "text"


# The code of an error from a call that ran out of time: its step ends as TimedOut, which
# a later step's "run after has timed out" handles, rather than Failed.
TIMEOUT = "Timeout"


class ActionError(Exception):
    """An action could not do its work.

    ``retryable`` says whether the same call may succeed later (a timeout, a 503, a lock);
    a bad input or a refused request is not retried.
    """

    def __init__(
        self, message: str, *, retryable: bool = False, code: str = "", details: Any = None
    ):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code or ("Transient" if retryable else "ActionFailed")
        self.details = details

    def as_dict(self) -> dict:
        error = {"code": self.code, "message": self.message, "retryable": self.retryable}
        if self.details is not None:
            error["details"] = self.details
        return error


@dataclass(frozen=True)
class RetryPolicy:
    """Power Automate's retry policy: exponential by default, a few attempts.

    ``count`` is the number of retries after the first attempt.
    """

    kind: str = "exponential"  # "exponential", "fixed" or "none"
    count: int = 3
    interval: float = 5.0  # seconds
    max_interval: float = 3600.0

    def delay(self, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when no retry is left."""
        if self.kind == "none" or attempt > self.count:
            return None
        if self.kind == "fixed":
            return self.interval
        return min(self.interval * 2 ** (attempt - 1), self.max_interval)

    @classmethod
    def from_definition(cls, data: dict | None, default: RetryPolicy) -> RetryPolicy:
        if not data:
            return default
        kind = data.get("type", default.kind)
        if kind == "none":
            return cls(kind="none", count=0)
        return cls(
            kind=kind,
            count=int(data.get("count", default.count)),
            interval=float(data.get("interval", default.interval)),
            max_interval=float(data.get("maxInterval", default.max_interval)),
        )


NO_RETRY = RetryPolicy(kind="none", count=0)


@dataclass
class ActionCall:
    """What one execution of an action gets: its inputs and where it runs."""

    inputs: dict
    company: Company
    user: Any  # the user the run acts for: the flow's owner
    run: FlowRun
    step_name: str
    # Unique to this step of this run and stable across redeliveries: pass it on to services
    # that deduplicate (an Idempotency-Key header, a mail's Message-ID).
    idempotency_key: str
    attempt: int = 1
    settings: dict = field(default_factory=dict)


class ConnectorAction:
    """One action of a connector. Subclass it, set the class attributes, implement ``run``."""

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[Param, ...]] = ()
    outputs: ClassVar[tuple[Output, ...]] = ()
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()
    # Its only effects are rows in our database: it runs in the same transaction that
    # records the step as done, so a worker killed midway leaves neither behind.
    transactional: ClassVar[bool] = False
    # Doing it again after a worker died during it does no harm (a read, an idempotent call).
    # Other actions are not repeated after such an interruption: the step fails and says so.
    repeatable: ClassVar[bool] = False

    connector: Connector  # set when the connector registers

    @property
    def type(self) -> str:
        return f"{self.connector.key}.{self.key}"

    def run(self, call: ActionCall) -> dict:
        raise NotImplementedError

    def validate(self, inputs: dict) -> list[str]:
        """Problems with the inputs as saved (before expressions are evaluated)."""
        errors = []
        for param in self.inputs:
            value = inputs.get(param.name)
            if param.required and (value is None or value == "" or value == []):
                errors.append(f"{param.label} is required.")
        known = {p.name for p in self.inputs}
        errors.extend(f"Unknown input {name!r}." for name in inputs if name not in known)
        return errors

    def describe(self) -> dict:
        """What the designer needs to show and edit this action."""
        return {
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "connector": self.connector.name,
            "inputs": [
                {
                    "name": p.name,
                    "label": p.label,
                    "type": p.type,
                    "required": p.required,
                    "help": p.help,
                    "choices": [list(c) for c in p.choices],
                    "default": p.default,
                    "advanced": p.advanced,
                }
                for p in self.inputs
            ],
            "outputs": [{"path": o.path, "label": o.label, "type": o.type} for o in self.outputs],
        }


@dataclass(frozen=True)
class Wait:
    """A waiting action's answer: not done yet. The run waits as a row, holding no worker,
    until something wakes it (the event it waits for) or ``until`` comes.

    ``state`` is what the action needs to check on it later (an approval's id); the step
    keeps it as its outputs while it waits.
    """

    until: datetime.datetime
    state: dict


class WaitingAction(ConnectorAction):
    """An action that starts something and waits for its outcome: Start and wait for an
    approval. The engine calls ``start`` once, then ``check`` at each later delivery of the
    run, until one of them returns outputs; when a wait's ``until`` has passed, ``expire``
    ends what was started and says how the step ends.

    Each call runs in the transaction that records its result in the step (and parks the
    run when it must wait), so its effects are database rows only: a worker that dies
    midway leaves nothing behind, and whatever ends the wait either commits before the
    check and is seen, or after and finds the run waiting to be woken.
    """

    transactional: ClassVar[bool] = True

    def start(self, call: ActionCall) -> Wait | dict:
        raise NotImplementedError

    def check(self, call: ActionCall, state: dict) -> Wait | dict:
        raise NotImplementedError

    def expire(self, call: ActionCall, state: dict) -> ActionError:
        """End what ``start`` began, whose time is up; the error the step ends with (its
        code ``TIMEOUT`` for Timed out)."""
        return ActionError("The action ran out of time.", code=TIMEOUT)

    def run(self, call: ActionCall) -> dict:
        raise ActionError(f"{self.title} waits; the engine starts it, not run().")


class Connector:
    """A set of actions for one service. Subclasses with a ``key`` register themselves."""

    key: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    color: ClassVar[str] = "#5c6b7a"  # the badge colour in the designer
    actions: ClassVar[tuple[type[ConnectorAction], ...]] = ()

    registered: ClassVar[dict[str, Connector]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.key:
            return
        if cls.key in Connector.registered:
            raise ValueError(f"A connector with the key {cls.key!r} is already registered")
        connector = cls()
        connector.action_map = {}
        for action_class in cls.actions:
            action = action_class()
            action.connector = connector
            connector.action_map[action.key] = action
        Connector.registered[cls.key] = connector

    action_map: dict[str, ConnectorAction]
