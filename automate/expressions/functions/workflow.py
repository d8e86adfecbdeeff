"""Access to the run: trigger, earlier steps, loops, variables."""

from typing import Any

from automate.expressions.functions.registry import function
from automate.expressions.runtime import CallSite


@function("trigger", 0)
def trigger(site: CallSite) -> Any:
    return site.context.trigger


@function("triggerOutputs", 0)
def trigger_outputs(site: CallSite) -> Any:
    return site.context.trigger


@function("triggerBody", 0)
def trigger_body(site: CallSite) -> Any:
    trigger = site.context.trigger
    return trigger.get("body") if isinstance(trigger, dict) else None


def _step(site: CallSite, name: Any) -> dict:
    name = site.text(name, 0)
    steps = site.context.steps
    if name in steps:
        return steps[name]
    # The designer shows 'Get record' where references use 'Get_record'.
    underscored = name.replace(" ", "_")
    if underscored in steps:
        return steps[underscored]
    raise site.fail(f"refers to step '{name}', which has not run in this flow")


@function("outputs", 1)
def outputs(site: CallSite, name: Any) -> Any:
    return (_step(site, name) or {}).get("outputs")


@function("body", 1)
def body(site: CallSite, name: Any) -> Any:
    step_outputs = (_step(site, name) or {}).get("outputs")
    return step_outputs.get("body") if isinstance(step_outputs, dict) else None


@function("actions", 1)
def actions(site: CallSite, name: Any) -> Any:
    return _step(site, name)


@function("items", 1)
def items(site: CallSite, loop: Any) -> Any:
    loop = site.text(loop, 0)
    if loop not in site.context.items:
        raise site.fail(f"refers to loop '{loop}', which does not contain this step")
    return site.context.items[loop]


@function("item", 0)
def item(site: CallSite) -> Any:
    if not site.context.items:
        raise site.fail("can only be used inside an 'Apply to each' loop")
    return list(site.context.items.values())[-1]


@function("iterationIndexes", 1)
def iteration_indexes(site: CallSite, loop: Any) -> Any:
    loop = site.text(loop, 0)
    if loop not in site.context.iteration_indexes:
        raise site.fail(f"refers to loop '{loop}', which does not contain this step")
    return site.context.iteration_indexes[loop]


@function("variables", 1)
def variables(site: CallSite, name: Any) -> Any:
    name = site.text(name, 0)
    if name not in site.context.variables:
        raise site.fail(f"refers to variable '{name}', which is not initialized")
    return site.context.variables[name]


@function("workflow", 0)
def workflow(site: CallSite) -> Any:
    return site.context.workflow
