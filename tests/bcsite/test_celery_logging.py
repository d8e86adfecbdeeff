import logging

from bcsite.celery import _not_a_quiet_task


def record(level: int, message: str, *args) -> logging.LogRecord:
    return logging.LogRecord("celery.app.trace", level, __file__, 1, message, args, None)


def test_the_routine_tick_is_not_logged_at_info():
    assert not _not_a_quiet_task(
        record(logging.INFO, "Task %s[%s] received", "automate.tasks.automate_tick_task", "1")
    )
    assert not _not_a_quiet_task(
        record(logging.INFO, "Scheduler: Sending due task automate-tick (...)")
    )


def test_other_tasks_and_problems_with_the_tick_are_logged():
    assert _not_a_quiet_task(
        record(logging.INFO, "Task %s[%s] received", "automate.tasks.flow_run_execute_task", "1")
    )
    assert _not_a_quiet_task(
        record(logging.ERROR, "Task %s[%s] raised", "automate.tasks.automate_tick_task", "1")
    )
