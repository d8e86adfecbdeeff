"""A private Redis server that a test can stop and start again, as an outage would."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.smtp import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT = 20


class RedisServer:
    """``redis-server`` on a free port of the loopback, keeping nothing on disk.

    ``stop()`` kills it (SIGKILL: clients see their connections drop, as when the machine
    goes); ``start()`` brings it back on the same port, empty.
    """

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if not Path(REDIS_SERVER).exists():
            pytest.fail(f"{REDIS_SERVER} is needed for the Redis outage tests.")
        command = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"redis-server did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)

    def ping(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def unacknowledged(self) -> int:
        """How many messages workers have taken and not yet acknowledged (kombu keeps them
        in the ``unacked`` hash until they are)."""
        client = redis.Redis.from_url(self.url)
        try:
            return client.hlen("unacked")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
