"""The kernel client of headless executions: ready when the kernel says so, not after a pause.

jupyter_client's ``wait_for_ready`` asks for ``kernel_info``, then waits up to 0.2 s
for any IOPub message (to see that IOPub is connected) and then until IOPub has been
quiet for 0.2 s. Every kernel start pays that quiet period, which is most of the start
of a forked kernel. This client waits for the kernel's ``idle`` status *of its own
kernel_info request* on IOPub instead: IOPub delivers a publisher's messages in order,
so once that status has arrived, IOPub is connected and everything the kernel
published before it has been received. When the status does not come (IOPub
subscribed after the kernel published it), the request is sent again, as
jupyter_client does; a reply to a repeated request is left on the shell channel, where
nbclient skips it as it skips any reply that is not to its own request.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient

__all__ = ["ReadyKernelClient"]

#: milliseconds before ZMQ retries a connection the kernel refused (not bound yet)
_RECONNECT_MS = 5
#: seconds to wait for the reply to one kernel_info request (the kernel may still boot)
_REPLY_S = 1.0
#: seconds to wait on IOPub for a request's ``idle`` status before asking again (the
#: kernel answers in milliseconds; a status published before IOPub subscribed never comes)
_IDLE_S = 0.05


class ReadyKernelClient(AsyncKernelClient):
    """:class:`AsyncKernelClient` whose :meth:`wait_for_ready` ends on the kernel's answer."""

    def start_channels(self, *args: Any, **kwargs: Any) -> None:
        """Connect the channels, retrying a refused connection every few milliseconds.

        The channels connect as soon as the kernel process exists, before it has bound
        its sockets; ZMQ tries again after ``RECONNECT_IVL``, 100 ms by default, which
        a forked kernel would spend waiting. Retries back off to one a second.
        """
        import zmq

        self.context.setsockopt(zmq.RECONNECT_IVL, _RECONNECT_MS)
        self.context.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        super().start_channels(*args, **kwargs)

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel answered ``kernel_info`` and IOPub carried its idle status.

        Raises
        ------
        RuntimeError
            The kernel died, or did not answer within ``timeout`` seconds (as
            jupyter_client raises).
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        asked: set[str] = set()
        replied = False
        while True:
            asked.add(self.kernel_info())
            if not replied:
                reply = await self._reply(asked, min(_REPLY_S, deadline - time.monotonic()))
                if reply is not None:
                    self._handle_kernel_info_reply(reply)
                    replied = True
            if replied and await self._idle(asked, min(_IDLE_S, deadline - time.monotonic())):
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _reply(self, asked: set[str], wait_s: float) -> dict[str, Any] | None:
        """The first reply to one of the ``asked`` requests within ``wait_s`` seconds."""
        end = time.monotonic() + max(wait_s, 0.0)
        while True:
            try:
                msg = await self.shell_channel.get_msg(timeout=max(end - time.monotonic(), 0.0))
            except Empty:
                return None
            if msg["msg_type"] == "kernel_info_reply" and _parent(msg) in asked:
                return dict(msg)

    async def _idle(self, asked: set[str], wait_s: float) -> bool:
        """Whether IOPub carries the ``idle`` status of an ``asked`` request within ``wait_s``."""
        end = time.monotonic() + max(wait_s, 0.0)
        while True:
            try:
                msg = await self.iopub_channel.get_msg(timeout=max(end - time.monotonic(), 0.0))
            except Empty:
                return False
            if (
                msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
                and _parent(msg) in asked
            ):
                return True


def _parent(msg: dict[str, Any]) -> str:
    return str((msg.get("parent_header") or {}).get("msg_id") or "")
