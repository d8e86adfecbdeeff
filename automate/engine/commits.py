"""The engine's transactions, and which of them may commit without waiting for the disk.

On PostgreSQL every commit waits for its WAL record to reach the disk (an fsync, about
4 ms on the benchmark machine): a run's bookkeeping (its delivery, its claim, the rows of
the steps that only read or compute, its end) spent more time waiting for the disk than
doing anything else. Those commits are *lazy* (``synchronous_commit`` off for that
transaction only): they return at once and reach the disk within a fraction of a second.

Why no guarantee is lost: the WAL is one sequence, and a commit that waits for the disk
writes every record before its own. So a database crash can only lose the last lazy
commits, together with everything after them, never a lazy commit followed by one that
waited. The engine waits for the disk (``durable``) before anything it did leaves the
database or cannot be redone: before an action with effects outside the database starts
(its Running row), when such an action's outcome is recorded, in transactional actions
(business changes), and whatever other code commits. What a crash can take back is work
the engine redoes by itself: an event goes back to pending and is delivered again, a
claim or a step that only read or computed is taken or done again, a run that had ended
ends again (its daily count with it). SQLite already runs every commit this way
(``synchronous=NORMAL`` in WAL mode), so nothing changes there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def engine_transaction(*, durable: bool, savepoint: bool = True) -> Iterator[None]:
    """``transaction.atomic``; outermost and not ``durable``, its commit does not wait for
    the disk on PostgreSQL. Inside a transaction it is part of that one, whose commit
    is as its outermost block says."""
    connection = transaction.get_connection()
    outermost = not connection.in_atomic_block
    with transaction.atomic(savepoint=savepoint):
        if outermost and not durable and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
