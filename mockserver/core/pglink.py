"""The link from a host to PostgreSQL: bounded waits, dead connections never handed out.

A database restart, a host cut off by the network, a server that stops answering: none
of them may hang a request or poison the pool. So, for every connection of a
``PostgresStore``:

* connecting waits at most ``db_timeout`` (``connect_timeout``);
* each statement waits at most ``db_timeout`` for the server's reply, measured here in
  the client (a silent link acknowledges nothing, so the server's own
  ``statement_timeout`` could never fire); on expiry the connection is closed, which
  makes SQLAlchemy discard it and every pooled connection older than the failure;
* sent bytes left unacknowledged that long end the connection in the kernel
  (``tcp_user_timeout``), and an idle pooled connection is probed (TCP keepalives);
* at checkout, a connection whose server went away (its socket readable while idle: the
  server's goodbye, an end of file, a reset) is replaced before any work sees it: the
  cheap form of SQLAlchemy's ``pool_pre_ping``, with no round trip on the request path.

The limit is lifted while the schema is migrated (a migration may legitimately wait for
another host's, and build indexes).
"""

from __future__ import annotations

import math
import select

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

#: seconds, when the store is built without a configured ``db_timeout``
DEFAULT_TIMEOUT = 5.0


class NoReply(psycopg.OperationalError):
    """The server sent nothing back within the statement limit (the connection is closed)."""


class Limits:
    """The statement limit of one store's connections (``None``: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds if seconds and seconds > 0 else None


class BoundedConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server is bounded by its limits."""

    limits: Limits = Limits(None)

    def wait(self, gen, interval=0.1, timeout=None):  # noqa: D102 (psycopg's own method)
        limit = self.limits.seconds
        if limit is not None and (timeout is None or timeout > limit):
            timeout = limit
        try:
            return super().wait(gen, interval, timeout)
        except pg_errors._WaitTimeout as error:
            self.pgconn.finish()  # half a conversation: the connection is unusable now
            raise NoReply(f"no reply from the database within {timeout:g} s") from error


def connect_args(seconds: float) -> dict:
    """libpq settings bounding the connection's waits to about ``seconds``."""
    whole = max(2, math.ceil(seconds))  # libpq's smallest connect timeout
    return {
        "connect_timeout": whole,
        "tcp_user_timeout": int(whole * 1000),
        "keepalives": 1,
        "keepalives_idle": whole,
        "keepalives_interval": 1,
        "keepalives_count": 3,
    }


def install(engine: Engine, limits: Limits) -> None:
    """Bounded connections for ``engine``, checked for liveness at each checkout."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, record, cargs, cparams):
        connection = BoundedConnection.connect(*cargs, **cparams)
        connection.limits = limits
        return connection

    event.listen(engine, "checkout", _check_alive)


def _check_alive(dbapi_connection, record, proxy) -> None:
    """Refuse a connection the server has already closed (SQLAlchemy then opens another)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    poller = select.poll()
    poller.register(dbapi_connection.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):  # an idle connection has nothing to read unless the server left
        raise DisconnectionError("the server closed the connection")
