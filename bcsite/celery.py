import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcsite.settings")

app = Celery("bcsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Beat sends the engine's tick every few seconds; logging each one at INFO would bury what
# the worker actually does. Warnings and errors about it still show.
QUIET_TASKS = (
    "automate-tick",
    "automate.tasks.automate_tick_task",
    "api-notifications-sweep",
    "bcsite.api.tasks.api_notifications_sweep_task",
)


def _not_a_quiet_task(record: logging.LogRecord) -> bool:
    if record.levelno > logging.INFO:
        return True
    message = record.getMessage()
    return not any(name in message for name in QUIET_TASKS)


@signals.after_setup_logger.connect
def _quiet_routine_tasks(logger, **kwargs):
    for handler in logger.handlers:
        handler.addFilter(_not_a_quiet_task)
