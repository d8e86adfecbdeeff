"""A real SMTP server (aiosmtpd) that keeps what it receives."""

import email
import socket
from email import policy


class Inbox:
    """An SMTP handler that keeps what it receives, or refuses recipients when told."""

    def __init__(self):
        self.messages = []
        self.refuse = None  # e.g. "550 No such user"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": email.message_from_bytes(envelope.content, policy=policy.default),
            }
        )
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
