"""Running services at the same moment from several threads, to test their row locks."""

import threading

from django.db import connection


def run_at_once(actions) -> list:
    """Call each action in its own thread, all released together; return what each returned
    or raised, in the order of ``actions``."""
    barrier = threading.Barrier(len(actions))
    outcomes: list = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            outcomes[index] = action()
        except BaseException as exc:
            outcomes[index] = exc
        finally:
            # Each thread has its own connection; the test database cannot be dropped
            # while one stays open.
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
