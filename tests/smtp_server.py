"""A real SMTP server (aiosmtpd) that keeps the messages it receives, for alert tests.

``SmtpServer(tls="starttls")`` requires STARTTLS, ``tls="implicit"`` speaks TLS from the
first byte (port-465 style); both with a throw-away self-signed certificate (openssl).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import tempfile
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.tls_seen: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.tls_seen.append(session.ssl is not None)
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_context() -> ssl.SSLContext:
    folder = Path(tempfile.mkdtemp(prefix="smtp-tls-"))
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class _StartTlsController(Controller):
    def __init__(self, handler: Any, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._tls = context
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        return SMTP(self.handler, tls_context=self._tls, require_starttls=True)


class SmtpServer:
    """``with SmtpServer() as smtp: … smtp.port … smtp.inbox.messages``."""

    def __init__(self, tls: str = "none") -> None:
        self.inbox = Inbox()
        self.port = free_port()
        if tls == "starttls":
            self._controller: Controller = _StartTlsController(
                self.inbox, self_signed_context(), hostname="127.0.0.1", port=self.port
            )
        elif tls == "implicit":
            self._controller = Controller(
                self.inbox, hostname="127.0.0.1", port=self.port, ssl_context=self_signed_context()
            )
        else:
            self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
