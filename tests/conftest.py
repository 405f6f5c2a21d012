"""Shared fixtures: PostgreSQL availability, temporary SQLite stores."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from smtp_server import SmtpServer

PG_HOST = os.environ.get("BITRIX1C_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BITRIX1C_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("BITRIX1C_TEST_PG_USER", "postgres")
# CI sets BITRIX1C_REQUIRE_POSTGRES=1: PostgreSQL tests then fail instead of skipping.
REQUIRE_PG = os.environ.get("BITRIX1C_REQUIRE_POSTGRES") == "1"


def _pg_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of the PostgreSQL server's maintenance database (skip or fail when absent)."""
    if not _pg_reachable():
        message = f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}"
        if REQUIRE_PG:
            pytest.fail(message + " and BITRIX1C_REQUIRE_POSTGRES=1 makes it mandatory")
        pytest.skip(message + " — PostgreSQL store tests skipped")
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"


@pytest.fixture
async def pg_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import asyncpg

    name = f"bitrix1c_test_{uuid.uuid4().hex[:12]}"
    dsn = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port that keeps what it receives."""
    with SmtpServer() as server:
        yield server
