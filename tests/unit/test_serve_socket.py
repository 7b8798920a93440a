"""The listening socket of ``jupyter mlops serve``: connections answer without Nagle's delay."""

from __future__ import annotations

import asyncio
import socket

from jupyter_mlops.models.serving.server import _bind
from jupyter_mlops.testing.processes import free_port


def test_accepted_connections_get_tcp_nodelay() -> None:
    """Served as uvicorn serves it (asyncio on our bound socket), a connection has TCP_NODELAY.

    Without it a response written in two pieces (head, then body) waits for the
    client's delayed acknowledgement, tens of milliseconds per request.
    """
    port = free_port()
    sock = _bind("127.0.0.1", port)

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            nodelay = await asyncio.wait_for(accepted, 10)
            writer.close()
            return nodelay

    assert asyncio.run(accept_one()) != 0
