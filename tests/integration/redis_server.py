"""A private Redis server that a test can stop and start again, as an outage would: the
benches' ``PrivateRedis``, plus what the tests look at."""

import redis

from bcsite.bench import PrivateRedis


class RedisServer(PrivateRedis):
    """``redis-server`` on a free port of the loopback, keeping nothing on disk.

    ``stop()`` kills it (SIGKILL: clients see their connections drop, as when the machine
    goes); ``start()`` brings it back on the same port, empty.
    """

    def unacknowledged(self) -> int:
        """How many messages workers have taken and not yet acknowledged (kombu keeps them
        in the ``unacked`` hash until they are)."""
        client = redis.Redis.from_url(self.url)
        try:
            return client.hlen("unacked")
        finally:
            client.close()
