"""A signalling-only LiveKit client for Interop tests: one WebSocket to `/rtc`, SignalRequest
out, SignalResponse in, encoded with LiveKit's own classes from `livekit-protocol`."""
import time

import aiohttp
from livekit.protocol import rtc


class Client:
    """A signalling-only LiveKit client: one WebSocket, SignalRequest out, SignalResponse in."""

    def __init__(self, ws, session):
        self.ws, self.session, self.join = ws, session, None

    @classmethod
    async def connect(cls, server, tok, header=True, query="protocol=16&auto_subscribe=1"):
        session = aiohttp.ClientSession()
        url = f"{server.ws_url}/rtc?{query}"
        headers = {}
        if header:
            headers["Authorization"] = f"Bearer {tok}"
        else:
            url += f"&access_token={tok}"
        ws = await session.ws_connect(url, headers=headers)
        c = cls(ws, session)
        first = await c.recv()
        assert first.WhichOneof("message") == "join", first
        c.join = first.join
        return c

    async def recv(self, timeout=5):
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.BINARY:
            raise EOFError(f"websocket {msg.type}: {msg.data}")
        r = rtc.SignalResponse()
        r.ParseFromString(msg.data)
        return r

    async def expect(self, kind, timeout=5, where=lambda m: True):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = await self.recv(timeout=max(0.1, deadline - time.time()))
            if m.WhichOneof("message") == kind and where(getattr(m, kind)):
                return getattr(m, kind)
        raise AssertionError(f"no {kind} within {timeout}s")

    async def send(self, **kw):
        await self.ws.send_bytes(rtc.SignalRequest(**kw).SerializeToString())

    async def close(self):
        await self.ws.close()
        await self.session.close()
