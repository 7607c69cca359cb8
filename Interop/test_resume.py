"""Resume: a viewer's signalling WebSocket is cut; the Python SDK resumes the same session
(`reconnect=1`, ICE restart on both peer connections) and media keeps flowing, unnoticed by the
others."""
import asyncio
import time

from livekit import rtc

from lk_rtc import VideoPattern, Viewer, connect, publish_video, token, wait_for


class CuttableProxy:
    """A loopback TCP relay in front of Sluice's signalling port; `cut()` drops every open
    connection (as a network blip would) and keeps accepting new ones."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.writers = []
        self.connections = []
        self.stalled = set()  # connections whose bytes are swallowed, both ways

    async def start(self):
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _client(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers += [writer, up_writer]
        connection = object()
        self.connections.append(connection)

        async def pump(src, dst):
            try:
                while data := await src.read(65536):
                    if connection in self.stalled:
                        continue
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                if connection not in self.stalled:  # a dead path does not carry the close either
                    dst.close()
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def stall(self):
        """Every open connection goes silent, both ways, without closing: a path that died (a
        phone leaving Wi-Fi). New connections work."""
        self.stalled.update(self.connections)

    def cut(self):
        for w in self.writers:
            w.transport.abort()
        self.writers = []

    def close(self):
        self.server.close()


def test_cut_websocket_resumes_and_media_keeps_flowing(server):
    async def go():
        proxy = await CuttableProxy(server.port).start()
        host = await connect(server, "host", "resume")
        pattern = VideoPattern(320, 240, (20, 160, 220), fps=15)
        await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern)
        sending = asyncio.ensure_future(pattern.run(30))
        left = []
        host.on("participant_disconnected", lambda p: left.append(p.identity))
        room = rtc.Room()
        viewer = Viewer(room)
        events = []
        room.on("reconnecting", lambda: events.append(("reconnecting", time.monotonic())))
        room.on("reconnected", lambda: events.append(("reconnected", time.monotonic())))
        await asyncio.wait_for(room.connect(f"ws://127.0.0.1:{proxy.port}", token("viewer", "resume", can_publish=False)), 20)
        assert await wait_for(lambda: viewer.frames["camera"] >= 20, 10), viewer.frames
        cut_at = time.monotonic()
        proxy.cut()
        resumed = await wait_for(lambda: any(e == "reconnected" for e, _ in events), 20)
        after_resume = viewer.frames["camera"]
        await asyncio.sleep(3)
        flowing = viewer.frames["camera"] - after_resume
        print(f"\nevents after the cut: {[(e, round(t - cut_at, 2)) for e, t in events]}; "
              f"frames in 3 s after resuming: {flowing}; host saw leave: {left}")
        assert resumed, events
        assert flowing >= 30, flowing
        assert "viewer" not in left
        assert room.connection_state == rtc.ConnectionState.CONN_CONNECTED
        sending.cancel()
        await viewer.close()
        await host.disconnect()
        proxy.close()
    asyncio.run(go())
    log = server.full_log()
    assert "session resumed" in log, log[-2000:]


def test_resume_takes_over_a_session_whose_old_connection_went_silent(server):
    """The old WebSocket's path dies silently: the server still sees it open (it would notice
    only at its 15 s ping timeout) when the SDK, after its own 7 s ping timeout, resumes on a new
    connection. The resume takes the session over; nobody sees the viewer leave."""
    async def go():
        proxy = await CuttableProxy(server.port).start()
        host = await connect(server, "host", "takeover")
        pattern = VideoPattern(320, 240, (220, 160, 20), fps=15)
        await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern)
        sending = asyncio.ensure_future(pattern.run(40))
        left = []
        host.on("participant_disconnected", lambda p: left.append(p.identity))
        room = rtc.Room()
        viewer = Viewer(room)
        events = []
        room.on("reconnecting", lambda: events.append(("reconnecting", time.monotonic())))
        room.on("reconnected", lambda: events.append(("reconnected", time.monotonic())))
        await asyncio.wait_for(room.connect(f"ws://127.0.0.1:{proxy.port}", token("viewer", "takeover", can_publish=False)), 20)
        assert await wait_for(lambda: viewer.frames["camera"] >= 20, 10), viewer.frames
        stalled_at = time.monotonic()
        proxy.stall()
        resumed = await wait_for(lambda: any(e == "reconnected" for e, _ in events), 25)
        after_resume = viewer.frames["camera"]
        await asyncio.sleep(3)
        flowing = viewer.frames["camera"] - after_resume
        print(f"\nevents after the stall: {[(e, round(t - stalled_at, 2)) for e, t in events]}; "
              f"frames in 3 s after resuming: {flowing}; host saw leave: {left}")
        assert resumed, events
        assert flowing >= 30, flowing
        assert "viewer" not in left
        sending.cancel()
        await viewer.close()
        await host.disconnect()
        proxy.close()
    asyncio.run(go())
    log = server.full_log()
    assert "signal connection superseded by a resume" in log, log[-2000:]
