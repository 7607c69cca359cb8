"""WHIP ingest and WHEP playback, proven with aiortc as the independent WebRTC peer.

aiortc publishes video (VP8, then H.264) plus Opus audio through WHIP; two aiortc viewers play it
through WHEP. Each viewer must decode at least 90% of the video frames sent during a 10 s window,
and receive the audio. Also: malformed SDP -> 400 (server keeps serving), bad token -> 401,
DELETE frees the session.
"""
import asyncio
import fractions
import os
import time

import aiohttp
import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from livekit import api

from conftest import API_KEY, API_SECRET

WINDOW_S = 10.0
TEST_TIMEOUT_S = 90


def token(identity, room, publish=False, subscribe=False):
    grants = api.VideoGrants(room_join=True, room=room, can_publish=publish, can_subscribe=subscribe)
    return api.AccessToken(API_KEY, API_SECRET).with_identity(identity).with_grants(grants).to_jwt()


class CountingVideo(VideoStreamTrack):
    """A moving 320x240 test picture at 30 fps that counts the frames handed to the encoder."""

    def __init__(self):
        super().__init__()
        self.sent = 0
        self.running = True

    async def recv(self):
        if not self.running:
            await asyncio.sleep(3600)
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=320, height=240, format="yuv420p")
        luma = bytes([(self.sent * 3) % 200 + 16]) * frame.planes[0].buffer_size
        frame.planes[0].update(luma)
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        self.sent += 1
        return frame


class CountingAudio(AudioStreamTrack):
    def __init__(self):
        super().__init__()
        self.sent = 0
        self.running = True

    async def recv(self):
        if not self.running:
            await asyncio.sleep(3600)
        frame = await super().recv()
        self.sent += 1
        return frame


async def post_offer(http, url, bearer, pc):
    await pc.setLocalDescription(await pc.createOffer())
    async with http.post(url, data=pc.localDescription.sdp,
                         headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/sdp"}) as r:
        body = await r.text()
        assert r.status == 201, f"{url}: {r.status} {body}"
        assert r.headers["Content-Type"].startswith("application/sdp")
        assert "ETag" in r.headers
        location = r.headers["Location"]
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    return location, body


async def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Viewer:
    def __init__(self, name):
        self.name = name
        self.pc = RTCPeerConnection()
        self.video = 0
        self.audio = 0
        self.first_video_at = None
        self.ended = set()
        self.tasks = []
        self.location = None
        self.connected_at = None

    async def start(self, http, base, room, publisher):
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")

        @self.pc.on("track")
        def on_track(track):
            self.tasks.append(asyncio.ensure_future(self.consume(track)))

        @self.pc.on("connectionstatechange")
        def on_state():
            if self.pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()

        self.requested_at = time.monotonic()
        self.location, self.answer = await post_offer(
            http, f"{base}/whep/{room}/{publisher}", token(self.name, room, subscribe=True), self.pc)

    async def consume(self, track):
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                self.ended.add(track.kind)
                return
            if track.kind == "video":
                self.video += 1
                if self.first_video_at is None:
                    self.first_video_at = time.monotonic()
            else:
                self.audio += 1

    async def close(self):
        for t in self.tasks:
            t.cancel()
        await self.pc.close()


def open_fds(server):
    return len(os.listdir(f"/proc/{server.proc.pid}/fd"))


async def whip_whep_round(server, codec_mime):
    room = "whip-" + codec_mime.split("/")[1].lower()
    base = server.http_url
    video, audio = CountingVideo(), CountingAudio()
    publisher = RTCPeerConnection()
    viewers = [Viewer("viewer-a"), Viewer("viewer-b")]
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/") as r:  # the keep-alive HTTP connection counts too
            assert r.status == 200
        fds_before = open_fds(server)
        try:
            vt = publisher.addTransceiver(video, direction="sendonly")
            vt.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                    if c.mimeType == codec_mime])
            publisher.addTransceiver(audio, direction="sendonly")
            pub_location, pub_answer = await post_offer(
                http, f"{base}/whip/{room}", token("camera-1", room, publish=True), publisher)
            assert pub_location.startswith(f"/whip/{room}/")
            assert "a=recvonly" in pub_answer and "a=setup:passive" in pub_answer
            assert codec_mime.split("/")[1] in pub_answer
            await wait_for(lambda: publisher.connectionState == "connected", 15, "publisher connected")

            for v in viewers:
                await v.start(http, base, room, "camera-1")
                assert "a=sendonly" in v.answer and "a=ssrc:" in v.answer
            await wait_for(lambda: all(v.video > 0 and v.audio > 0 for v in viewers), 15, "viewers playing")
            for v in viewers:
                keyframe_delay = v.first_video_at - v.connected_at
                print(f"{v.name}: first video frame {v.first_video_at - v.requested_at:.2f} s after its WHEP POST, "
                      f"{keyframe_delay:.2f} s after connecting")
                # Joined mid-stream: the PLI on subscribe must get it a keyframe fast.
                assert keyframe_delay < 1.0, f"{v.name} waited {keyframe_delay:.2f} s for a keyframe"

            async with api.LiveKitAPI(url=base, api_key=API_KEY, api_secret=API_SECRET) as lk:
                rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
                assert rooms.rooms[0].num_participants == 3 and rooms.rooms[0].num_publishers == 1
                parts = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
                assert sorted(p.identity for p in parts.participants) == sorted(
                    ["camera-1", "viewer-a", "viewer-b"]), [p.identity for p in parts.participants]
                pub = [p for p in parts.participants if p.identity == "camera-1"][0]
                assert sorted(t.type for t in pub.tracks) == [0, 1] and all(t.sid.startswith("TR_") for t in pub.tracks)

            sent0, asent0 = video.sent, audio.sent
            got0 = [(v.video, v.audio) for v in viewers]
            await asyncio.sleep(WINDOW_S)
            video.running = audio.running = False
            sent = video.sent - sent0
            asent = audio.sent - asent0
            await asyncio.sleep(2.0)  # let the last frames arrive and decode
            print(f"\n{codec_mime}: video frames sent in {WINDOW_S:.0f} s: {sent}, audio frames sent: {asent}")
            for v, (g0, a0) in zip(viewers, got0):
                got, agot = v.video - g0, v.audio - a0
                print(f"  {v.name}: video decoded {got} ({100.0 * got / sent:.1f}%), "
                      f"audio frames {agot} ({100.0 * agot / max(asent, 1):.1f}%)")
                assert got >= 0.9 * sent, f"{v.name} decoded {got} of {sent} video frames"
                assert agot >= 0.8 * asent, f"{v.name} received {agot} of {asent} audio frames"

            # The publisher leaves: its session and room participation go away.
            async with http.delete(base + pub_location,
                                   headers={"Authorization": "Bearer " + token("camera-1", room, publish=True)}) as r:
                assert r.status == 200, await r.text()
            async with http.delete(base + pub_location,
                                   headers={"Authorization": "Bearer " + token("camera-1", room, publish=True)}) as r:
                assert r.status == 404
            # Viewers see the publisher's tracks end (RTCP BYE).
            await wait_for(lambda: all(v.ended == {"audio", "video"} for v in viewers), 5, "viewer tracks ended")
            for v in viewers:
                async with http.delete(base + v.location,
                                       headers={"Authorization": "Bearer " + token(v.name, room, subscribe=True)}) as r:
                    assert r.status == 200, await r.text()
            async with api.LiveKitAPI(url=base, api_key=API_KEY, api_secret=API_SECRET) as lk:
                deadline = time.monotonic() + 5
                while True:
                    rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
                    if rooms.rooms[0].num_participants == 0 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.1)
                assert rooms.rooms[0].num_participants == 0
            await asyncio.sleep(0.5)
            fds_after = open_fds(server)
            print(f"  server file descriptors: {fds_before} before, {fds_after} after all DELETEs")
            assert fds_after <= fds_before, "sockets left behind"
        finally:
            video.running = audio.running = False
            await publisher.close()
            for v in viewers:
                await v.close()


@pytest.mark.parametrize("codec_mime", ["video/VP8", "video/H264"])
def test_whip_publish_whep_play(server, codec_mime):
    asyncio.run(asyncio.wait_for(whip_whep_round(server, codec_mime), TEST_TIMEOUT_S))


def test_bad_requests(server):
    async def run():
        base = server.http_url
        async with aiohttp.ClientSession() as http:
            good = token("cam", "r1", publish=True)
            hdr = {"Authorization": f"Bearer {good}", "Content-Type": "application/sdp"}
            async with http.post(f"{base}/whip/r1", data="v=0\r\nthis is not SDP\r\n", headers=hdr) as r:
                text = await r.text()
                print(f"malformed SDP -> {r.status}: {text.strip()}")
                assert r.status == 400 and "SDP" in text
            async with http.post(f"{base}/whip/r1", data="v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                                 "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", headers=hdr) as r:
                text = await r.text()
                print(f"SDP without ICE/DTLS -> {r.status}: {text.strip()}")
                assert r.status == 400
            # The server keeps serving.
            async with http.get(f"{base}/") as r:
                assert r.status == 200
            pc = RTCPeerConnection()
            try:
                pc.addTransceiver(CountingVideo(), direction="sendonly")
                await pc.setLocalDescription(await pc.createOffer())
                offer = pc.localDescription.sdp
                for bad in ["", "Bearer not.a.jwt", "Bearer " + api.AccessToken(API_KEY, "wrong-secret")
                            .with_identity("x").with_grants(api.VideoGrants(room_join=True, room="r1")).to_jwt()]:
                    h = {"Content-Type": "application/sdp"}
                    if bad:
                        h["Authorization"] = bad
                    async with http.post(f"{base}/whip/r1", data=offer, headers=h) as r:
                        assert r.status == 401, (bad, r.status, await r.text())
                async with http.post(f"{base}/whip/r1", data=offer, headers={
                        "Authorization": "Bearer " + token("v", "r1", subscribe=True, publish=False),
                        "Content-Type": "application/sdp"}) as r:
                    assert r.status == 403
                async with http.post(f"{base}/whip/other-room", data=offer, headers=hdr) as r:
                    assert r.status == 403
                async with http.post(f"{base}/whep/r1/nobody", data=offer, headers={
                        "Authorization": "Bearer " + token("v", "r1", subscribe=True),
                        "Content-Type": "application/sdp"}) as r:
                    assert r.status == 404
                async with http.delete(f"{base}/whip/r1/WHIP_nosuchsession", headers=hdr) as r:
                    assert r.status == 404
                # A valid offer still works after all that.
                async with http.post(f"{base}/whip/r1", data=offer, headers=hdr) as r:
                    assert r.status == 201, await r.text()
                    location = r.headers["Location"]
                async with http.delete(base + location, headers=hdr) as r:
                    assert r.status == 200
            finally:
                await pc.close()

    asyncio.run(asyncio.wait_for(run(), 60))


def test_vanished_viewer_is_freed_by_consent_freshness(server):
    """A viewer killed without DELETE stops answering ICE consent checks (RFC 7675): its session
    and room membership are freed within ~30 s, while the publisher carries on."""
    import subprocess
    import sys

    async def run():
        room = "consent"
        video, audio = CountingVideo(), CountingAudio()
        publisher = RTCPeerConnection()
        viewer = None
        async with aiohttp.ClientSession() as http, \
                api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET) as lk:
            try:
                publisher.addTransceiver(video, direction="sendonly")
                publisher.addTransceiver(audio, direction="sendonly")
                await post_offer(http, f"{server.http_url}/whip/{room}", token("cam", room, publish=True), publisher)
                await wait_for(lambda: publisher.connectionState == "connected", 15, "publisher connected")
                viewer = subprocess.Popen(
                    [sys.executable, os.path.join(os.path.dirname(__file__), "whep_viewer.py"),
                     f"{server.http_url}/whep/{room}/cam", token("ghost-viewer", room, subscribe=True)],
                    stdout=subprocess.PIPE, text=True)
                line = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, viewer.stdout.readline), 30)
                assert line.strip() == "playing", line

                async def identities():
                    parts = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
                    return sorted(p.identity for p in parts.participants)
                assert await identities() == ["cam", "ghost-viewer"]
                viewer.kill()
                viewer.wait(5)
                killed_at = time.monotonic()
                while await identities() != ["cam"]:
                    assert time.monotonic() - killed_at < 50, "vanished viewer still in the room"
                    await asyncio.sleep(1)
                print(f"\nvanished WHEP viewer freed {time.monotonic() - killed_at:.1f} s after SIGKILL")
                assert publisher.connectionState == "connected"
            finally:
                if viewer and viewer.poll() is None:
                    viewer.kill()
                await publisher.close()
    asyncio.run(asyncio.wait_for(run(), 120))
