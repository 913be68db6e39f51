"""A real SMTP server for the tests (aiosmtpd), on 127.0.0.1 on a free port.

Usage: smtpd.py MAILBOX [DELAY_SECONDS]

Prints the port it listens on, then appends one JSON line per accepted message to
MAILBOX: {"from", "to": [...], "data"}. With DELAY_SECONDS, each RCPT is answered only
after that long, so a test can kill a client in the middle of a session (before the
message is accepted).
"""

import asyncio
import json
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, mailbox, delay):
        self.mailbox = mailbox
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.delay:
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf8", errors="replace"),
        }
        with open(self.mailbox, "a", encoding="utf8") as out:
            out.write(json.dumps(record) + "\n")
            out.flush()
        return "250 Message accepted for delivery"


async def main():
    mailbox = sys.argv[1]
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    handler = Handler(mailbox, delay)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mail.test"), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
