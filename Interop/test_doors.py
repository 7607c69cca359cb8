"""One room, every door: WHIP, WHEP and LiveKit clients meet in the same room.

- aiortc publishes VP8 + Opus through WHIP; two Python `livekit` SDK viewers decode > 90% of its
  video frames and receive its audio; a participant egress of the WHIP publisher gives an MP4
  that ffprobe reads.
- A Python `livekit` SDK host publishes camera + mic; an aiortc WHEP viewer decodes > 90% of its
  frames and its audio; a simulcast host is served to WHEP viewers at the layer each asked for.
"""
import asyncio
import json
import subprocess
import time

import aiohttp
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from livekit import api, rtc

from conftest import API_KEY, API_SECRET
from lk_rtc import Tone, VideoPattern, Viewer, connect, publish_audio, publish_video, wait_for
from lk_rtc import token as lk_token
from test_whip_whep import CountingAudio, CountingVideo, post_offer
from test_whip_whep import token as whip_token

WINDOW_S = 8.0


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                         capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    return sorted(s["codec_name"] for s in info["streams"]), info


class WHEPViewer:
    """An aiortc WHEP viewer counting decoded frames and the last decoded size."""

    def __init__(self, name):
        self.name = name
        self.pc = RTCPeerConnection()
        self.video = self.audio = 0
        self.size = None
        self.tasks = []
        self.location = None

    async def start(self, http, base, room, publisher, query=""):
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")

        @self.pc.on("track")
        def on_track(track):
            self.tasks.append(asyncio.ensure_future(self.consume(track)))

        self.location, self.answer = await post_offer(
            http, f"{base}/whep/{room}/{publisher}{query}", whip_token(self.name, room, subscribe=True), self.pc)

    async def consume(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                self.video += 1
                self.size = (frame.width, frame.height)
            else:
                self.audio += 1

    async def close(self):
        for t in self.tasks:
            t.cancel()
        await self.pc.close()


async def whip_to_livekit(server):
    room, base = "doors-whip", server.http_url
    video, audio = CountingVideo(), CountingAudio()
    publisher = RTCPeerConnection()
    lk = api.LiveKitAPI(url=base, api_key=API_KEY, api_secret=API_SECRET)
    viewers = []
    async with aiohttp.ClientSession() as http:
        try:
            vt = publisher.addTransceiver(video, direction="sendonly")
            vt.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/VP8"])
            publisher.addTransceiver(audio, direction="sendonly")
            location, _ = await post_offer(http, f"{base}/whip/{room}", whip_token("obs", room, publish=True), publisher)
            assert await wait_for(lambda: publisher.connectionState == "connected", 15), "WHIP publisher connected"

            # One viewer joins after the encoder, one before its next renegotiation: both must be offered
            # its tracks with the WHIP participant's sid in the stream ids.
            for name in ("viewer-a", "viewer-b"):
                # The handler is in place before connecting: the encoder's tracks are offered as the
                # viewer joins, and a track_subscribed fired before `connect` returns would be missed.
                viewer_room = rtc.Room()
                viewers.append(Viewer(viewer_room))
                await asyncio.wait_for(viewer_room.connect(server.ws_url, lk_token(name, room, can_subscribe=True)), 20)
            assert await wait_for(lambda: all(v.frames["video"] > 0 and v.frames["audio"] > 0 for v in viewers), 15), \
                [dict(v.frames) for v in viewers]
            for v in viewers:
                remote = [p for p in v.room.remote_participants.values() if p.identity == "obs"]
                assert remote, f"{v.room.local_participant.identity} does not see the WHIP publisher"
                kinds = sorted(pub.kind for pub in remote[0].track_publications.values())
                assert kinds == [rtc.TrackKind.KIND_AUDIO, rtc.TrackKind.KIND_VIDEO], kinds

            parts = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
            assert sorted(p.identity for p in parts.participants) == ["obs", "viewer-a", "viewer-b"]

            egress = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
                room_name=room, identity="obs",
                file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.MP4, filepath="{room_name}/{publisher_identity}")]))

            sent0 = video.sent
            got0 = [(v.frames["video"], v.frames["audio"]) for v in viewers]
            await asyncio.sleep(WINDOW_S)
            video.running = False
            sent = video.sent - sent0
            await asyncio.sleep(1.0)  # the last frames arrive and decode
            print(f"\nWHIP (aiortc VP8+Opus) -> LiveKit SDK viewers: {sent} video frames sent in {WINDOW_S:.0f} s")
            for v, (g0, a0) in zip(viewers, got0):
                got, agot = v.frames["video"] - g0, v.frames["audio"] - a0
                print(f"  {v.room.local_participant.identity}: video decoded {got} ({100.0 * got / sent:.1f}%), "
                      f"audio frames {agot}, size {v.sizes.get('video')}")
                assert 0.9 * sent <= got <= sent + 2, f"decoded {got} of {sent}"
                assert agot > 0
            done = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=egress.egress_id))
            assert done.status == api.EgressStatus.EGRESS_COMPLETE, done
            path = done.file_results[0].filename
            codecs, info = probe(path)
            print(f"  participant egress of the WHIP publisher: {path} {info['format']['format_name']} {codecs} "
                  f"duration {float(info['format']['duration']):.2f} s")
            # MP4 carries the VP8 video transcoded to H.264, as LiveKit's egress does.
            assert codecs == ["h264", "opus"], codecs
            assert float(info["format"]["duration"]) > WINDOW_S - 1

            # The platform removes the encoder through the RoomService, as it would any participant:
            # LiveKit viewers see it leave, and its WHIP session is gone.
            await lk.room.remove_participant(api.RoomParticipantIdentity(room=room, identity="obs"))
            assert await wait_for(lambda: all("obs" not in [p.identity for p in v.room.remote_participants.values()]
                                              for v in viewers), 10), "viewers still see the WHIP publisher"
            async with http.delete(base + location, headers={"Authorization": "Bearer " + whip_token("obs", room, publish=True)}) as r:
                assert r.status == 404, "RemoveParticipant should have ended the WHIP session"
            parts = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
            assert sorted(p.identity for p in parts.participants) == ["viewer-a", "viewer-b"]
        finally:
            video.running = audio.running = False
            await publisher.close()
            for v in viewers:
                await v.close()
            await lk.aclose()


def test_whip_publisher_is_watched_by_livekit_sdk_viewers_and_recorded(server):
    asyncio.run(asyncio.wait_for(whip_to_livekit(server), 120))


async def livekit_to_whep(server):
    room, base = "doors-whep", server.http_url
    host = await connect(server, "host", room, can_publish=True)
    pattern, tone = VideoPattern(640, 360, (30, 140, 200), fps=20), Tone()
    viewer = WHEPViewer("whep-viewer")
    tasks = []
    async with aiohttp.ClientSession() as http:
        try:
            await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern)
            await publish_audio(host, tone)
            tasks = [asyncio.ensure_future(pattern.run(60)), asyncio.ensure_future(tone.run(60))]
            await asyncio.sleep(0.5)
            await viewer.start(http, base, room, "host")
            assert await wait_for(lambda: viewer.video > 0 and viewer.audio > 0, 15), (viewer.video, viewer.audio)

            # The WHEP viewer is a room member the host sees.
            assert await wait_for(lambda: "whep-viewer" in [p.identity for p in host.remote_participants.values()], 5)

            sent0, got0, a0 = pattern.sent, viewer.video, viewer.audio
            await asyncio.sleep(WINDOW_S)
            sent, got, agot = pattern.sent - sent0, viewer.video - got0, viewer.audio - a0
            print(f"\nLiveKit SDK host -> aiortc WHEP viewer: host sent {sent} frames, viewer decoded {got} "
                  f"({100.0 * got / sent:.1f}%) at {viewer.size}, audio frames {agot}")
            assert got >= 0.9 * sent, f"decoded {got} of {sent}"
            assert agot > 0
        finally:
            for t in tasks:
                t.cancel()
            await viewer.close()
            await host.disconnect()


def test_whep_viewer_watches_a_livekit_sdk_host(server):
    asyncio.run(asyncio.wait_for(livekit_to_whep(server), 90))


async def simulcast_to_whep(server):
    room, base = "doors-simulcast", server.http_url
    host = await connect(server, "host", room, can_publish=True)
    pattern = VideoPattern(1280, 720, (200, 120, 20), fps=15)
    viewers = {"low": WHEPViewer("whep-low"), "high": WHEPViewer("whep-high")}
    task = None
    async with aiohttp.ClientSession() as http:
        try:
            await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern, simulcast=True)
            task = asyncio.ensure_future(pattern.run(60))
            await asyncio.sleep(0.5)
            for quality, v in viewers.items():
                await v.start(http, base, room, "host", f"?quality={quality}")
            # libwebrtc ramps its upper layers up over a few seconds.
            ok = await wait_for(lambda: viewers["low"].size and viewers["high"].size
                                and viewers["high"].size[0] >= 1280 and viewers["low"].size[0] <= 320, 25)
            print(f"\nsimulcast host -> WHEP: low viewer {viewers['low'].size} ({viewers['low'].video} frames), "
                  f"high viewer {viewers['high'].size} ({viewers['high'].video} frames)")
            assert ok, {q: v.size for q, v in viewers.items()}
            sent0, got0 = pattern.sent, {q: v.video for q, v in viewers.items()}
            await asyncio.sleep(5.0)
            sent = pattern.sent - sent0
            for quality, v in viewers.items():
                got = v.video - got0[quality]
                print(f"  {quality}: decoded {got} of {sent} frames in 5 s ({100.0 * got / sent:.1f}%) at {v.size}")
                assert got >= 0.8 * sent, (quality, got, sent)
            assert viewers["low"].size[0] <= 320 and viewers["high"].size[0] >= 1280
            async with http.post(f"{base}/whep/{room}/host?quality=best", data="v=0\r\n",
                                 headers={"Authorization": "Bearer " + whip_token("x", room, subscribe=True),
                                          "Content-Type": "application/sdp"}) as r:
                assert r.status == 400 and "quality" in await r.text()
        finally:
            if task:
                task.cancel()
            for v in viewers.values():
                await v.close()
            await host.disconnect()


def test_whep_viewers_get_the_simulcast_layer_they_ask_for(server):
    asyncio.run(asyncio.wait_for(simulcast_to_whep(server), 90))
