"""Webhooks as LiveKit sends them, received and verified by `livekit-api`'s WebhookReceiver."""
import asyncio
import http.server
import queue
import threading

from livekit import api

from conftest import API_KEY, API_SECRET, SluiceServer, free_port
from livekit.protocol import models, rtc
from lk_signal import Client


class Receiver:
    """A loopback HTTP endpoint that records (body, Authorization, Content-Type) of each POST."""

    def __init__(self, status=200):
        self.got = queue.Queue()
        self.port = free_port()
        got, code = self.got, status

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                got.put((body, self.headers.get("Authorization"), self.headers.get("Content-Type")))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_room_and_participant_events_are_signed_webhooks(workdir):
    receiver = Receiver()
    dead_port = free_port()  # nothing listens here: must not delay the live endpoint
    server = SluiceServer(workdir, extra_config=(
        "webhook:\n  api_key: devkey\n  urls:\n"
        f"    - http://127.0.0.1:{dead_port}/nobody\n"
        f"    - http://127.0.0.1:{receiver.port}/hook\n")).start()
    try:
        async def go():
            lk = api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)
            try:
                room = await lk.room.create_room(api.CreateRoomRequest(name="hooked"))
                tok = api.AccessToken(API_KEY, API_SECRET).with_identity("buyer") \
                    .with_grants(api.VideoGrants(room_join=True, room="hooked")).to_jwt()
                buyer = await Client.connect(server, tok)
                await buyer.send(leave=rtc.LeaveRequest(reason=models.DisconnectReason.CLIENT_INITIATED))
                await buyer.close()
                await asyncio.sleep(0.5)
                await lk.room.delete_room(api.DeleteRoomRequest(room="hooked"))
                return room
            finally:
                await lk.aclose()
        room = asyncio.run(go())
        verifier = api.WebhookReceiver(api.TokenVerifier(API_KEY, API_SECRET))
        events = []
        for _ in range(4):
            body, auth, ctype = receiver.got.get(timeout=10)
            assert ctype == "application/webhook+json"
            assert not auth.lower().startswith("bearer"), auth
            event = verifier.receive(body, auth)  # checks signature and body sha256
            events.append(event)
        assert [e.event for e in events] == ["room_started", "participant_joined", "participant_left", "room_finished"]
        assert events[1].participant.identity == "buyer" and events[1].participant.sid.startswith("PA_")
        assert events[2].participant.sid == events[1].participant.sid
        assert all(e.room.sid == room.sid and e.room.name == "hooked" for e in events)
        assert all(e.id.startswith("EV_") and e.created_at > 0 for e in events)
        # A tampered body no longer verifies.
        try:
            verifier.receive(body.replace("hooked", "forged"), auth)
            raise AssertionError("tampered webhook verified")
        except Exception as e:
            assert "hash" in str(e) or "mismatch" in str(e), e
        print(f"\nwebhooks verified by livekit-api: {[e.event for e in events]} for {room.sid}")
    finally:
        server.stop()
        receiver.close()


def test_track_events_from_a_real_client_are_signed_webhooks(workdir):
    """A LiveKit SDK publisher's whole session, seen through webhooks verified by livekit-api."""
    from livekit import rtc as lkrtc
    from lk_rtc import VideoPattern, connect, publish_video

    receiver = Receiver()
    server = SluiceServer(workdir, extra_config=(
        "webhook:\n  api_key: devkey\n  urls:\n"
        f"    - http://127.0.0.1:{receiver.port}/hook\n")).start()
    try:
        async def go():
            lk = api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)
            try:
                host = await connect(server, "host", "live")
                pattern = VideoPattern(160, 120, (10, 200, 10))
                pub = await publish_video(host, "camera", lkrtc.TrackSource.SOURCE_CAMERA, pattern)
                await pattern.run(1.0)
                await host.local_participant.unpublish_track(pub.sid)
                await asyncio.sleep(1.0)
                await host.disconnect()
                await asyncio.sleep(0.5)
                await lk.room.delete_room(api.DeleteRoomRequest(room="live"))
                return pub.sid
            finally:
                await lk.aclose()
        track_sid = asyncio.run(go())
        verifier = api.WebhookReceiver(api.TokenVerifier(API_KEY, API_SECRET))
        events = []
        for _ in range(6):
            body, auth, _ = receiver.got.get(timeout=10)
            events.append(verifier.receive(body, auth))
        names = [e.event for e in events]
        print(f"\nwebhooks verified by livekit-api: {names}")
        assert names == ["room_started", "participant_joined", "track_published", "track_unpublished",
                         "participant_left", "room_finished"], names
        assert events[2].track.sid == track_sid and events[2].track.name == "camera"
        assert events[2].participant.identity == "host"
        assert events[3].track.sid == track_sid
    finally:
        server.stop()
        receiver.close()
