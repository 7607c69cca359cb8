"""One room on two media workers (rtc.media_workers: 2, rtc.spread_rooms_after: 1), judged by
LiveKit's real-time Python SDK: the host's camera (simulcast) and mic are relayed from its worker
to the other, and viewers on either worker decode them, pick and switch layers (keyframe requests
cross back), hear the active speaker, send and receive data across workers, and see the host's
tracks end. The room's stats count the viewers of both workers.

The server's log says where each member was placed ("member placed ... worker"): viewers alternate
between the room's home worker and the second one."""
import asyncio
import json
import re
import time
import urllib.request

import pytest
from livekit import api, rtc

from conftest import API_KEY, API_SECRET, SluiceServer
from lk_rtc import Tone, VideoPattern, connect, publish_audio, token, wait_for
from test_simulcast import FrameLog

ROOM = "spread"


@pytest.fixture
def spread_server(workdir):
    s = SluiceServer(workdir, extra_config="rtc:\n  media_workers: 2\n  spread_rooms_after: 1\n").start()
    yield s
    alive = s.alive()
    s.stop()
    assert alive, "sluice died during the test:\n" + s.read_log()


def placements(server):
    """participant sid -> worker name, from the server's log."""
    with open(server.log_path, "rb") as f:
        text = f.read().decode(errors="replace")
    found = {}
    for line in text.splitlines():
        if "member placed" in line:
            sid = re.search(r"participant=(\S+)", line)
            worker = re.search(r"worker=(\S+)", line)
            if sid and worker:
                found[sid.group(1)] = worker.group(1)
    return found


def room_stats(server):
    bearer = api.AccessToken(API_KEY, API_SECRET).with_identity("ops") \
        .with_grants(api.VideoGrants(room_list=True)).to_jwt()
    request = urllib.request.Request(server.http_url + "/admin/stats", headers={"Authorization": "Bearer " + bearer})
    with urllib.request.urlopen(request, timeout=5) as r:
        rooms = {room["room"]: room for room in json.loads(r.read())["rooms"]}
    return rooms.get(ROOM)


class SpreadViewer:
    """A viewer that logs the host's camera frames, counts audio frames, speakers and data."""

    def __init__(self, identity):
        self.identity = identity
        self.room = rtc.Room()
        self.camera = FrameLog()
        self.audio_frames = 0
        self.camera_publication = None
        self.unsubscribed = []
        self.speakers = []
        self.data = []
        self.tasks = []
        self.room.on("track_subscribed", self._subscribed)
        self.room.on("track_unsubscribed", lambda track, pub, p: self.unsubscribed.append(pub.name))
        self.room.on("active_speakers_changed", lambda ss: self.speakers.append([p.identity for p in ss]))
        self.room.on("data_received", lambda packet: self.data.append(
            (packet.participant.identity if packet.participant else None, bytes(packet.data))))

    def _subscribed(self, track, publication, participant):
        if track.kind == rtc.TrackKind.KIND_VIDEO:
            self.camera_publication = publication
            self.tasks.append(self.camera.start(track))
        else:
            async def count():
                async for _ in rtc.AudioStream(track):
                    self.audio_frames += 1
            self.tasks.append(asyncio.ensure_future(count()))

    async def connect(self, server):
        await asyncio.wait_for(self.room.connect(server.ws_url, token(self.identity, ROOM, can_publish=False)), 20)
        assert await wait_for(lambda: self.camera_publication is not None, 15), f"{self.identity} got no camera"
        return self

    @property
    def sid(self):
        return self.room.local_participant.sid

    async def close(self):
        for task in self.tasks:
            task.cancel()
        await self.room.disconnect()


def test_one_room_on_two_workers(spread_server):
    server = spread_server

    async def go():
        host = await connect(server, "host", ROOM)
        pattern = VideoPattern(1280, 720, (30, 90, 200), fps=15)
        camera = rtc.LocalVideoTrack.create_video_track("camera", pattern.source)
        await asyncio.wait_for(host.local_participant.publish_track(camera, rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_CAMERA, simulcast=True, video_codec=rtc.VideoCodec.VP8)), 15)
        tone = Tone()
        await publish_audio(host, tone)
        sending = [asyncio.ensure_future(pattern.run(40)), asyncio.ensure_future(tone.run(40))]
        host_data = []
        host.on("data_received", lambda packet: host_data.append(
            (packet.participant.identity if packet.participant else None, bytes(packet.data))))

        a = await SpreadViewer("viewer-a").connect(server)
        b = await SpreadViewer("viewer-b").connect(server)
        placed = placements(server)
        print(f"\nplacements: {placed}")
        assert placed.get(a.sid) == "sluice-media-1" or placed.get(a.sid) == "sluice-media-0", placed
        assert placed.get(a.sid) != placed.get(b.sid), f"the two viewers share a worker: {placed}"

        # Layers on each worker: a LOW, b HIGH.
        a.camera_publication.set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_LOW)
        b.camera_publication.set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_HIGH)
        assert await wait_for(lambda: any(f[1] == 1280 for f in b.camera.frames), 15), b.camera.frames[-3:]
        assert await wait_for(lambda: any(f[1] == 320 for f in a.camera.frames), 10), a.camera.frames[-3:]
        await asyncio.sleep(1.5)
        t = time.monotonic()
        await asyncio.sleep(2)
        low = {(w, h) for _, w, h in a.camera.since(t)}
        high = {(w, h) for _, w, h in b.camera.since(t)}
        print(f"viewer-a ({placed.get(a.sid)}) LOW {low}, {len(a.camera.since(t))} frames in 2 s; "
              f"viewer-b ({placed.get(b.sid)}) HIGH {high}, {len(b.camera.since(t))} frames in 2 s")
        assert low == {(320, 180)} and high == {(1280, 720)}

        # Switching up needs a keyframe of the top layer, asked for across workers when a is on
        # the second worker.
        switch_at = time.monotonic()
        a.camera_publication.set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_HIGH)
        assert await wait_for(lambda: any(f[1] == 1280 for f in a.camera.since(switch_at)), 4)
        first_high = next(f[0] for f in a.camera.since(switch_at) if f[1] == 1280)
        print(f"viewer-a switched LOW->HIGH in {first_high - switch_at:.2f} s")

        # A late joiner lands on the worker with fewer members and decodes too.
        c = await SpreadViewer("viewer-c").connect(server)
        assert await wait_for(lambda: len(c.camera.frames) > 30 and c.audio_frames > 100, 15), \
            (len(c.camera.frames), c.audio_frames)
        placed = placements(server)

        # Data across workers: a viewer to everyone, the host to one viewer.
        await a.room.local_participant.publish_data(b"from a", reliable=True)
        await host.local_participant.publish_data(b"for c", reliable=True, destination_identities=["viewer-c"])
        assert await wait_for(lambda: (b"from a" in [d for _, d in host_data]
                                        and b"from a" in [d for _, d in b.data]
                                        and b"for c" in [d for _, d in c.data]), 5)
        await asyncio.sleep(0.5)
        assert [d for _, d in a.data] == [] and [d for _, d in b.data] == [b"from a"]
        assert ("viewer-a", b"from a") in host_data

        # The room's stats merge both workers: the camera has three viewers.
        stats = None
        for _ in range(30):
            stats = room_stats(server)
            if stats:
                cams = [t for p in stats["participants"] if p["identity"] == "host" for t in p["tracks"] if t["kind"] == "video"]
                if cams and cams[0]["subscribers"] == 3 and stats["viewers"] == 3:
                    break
            await asyncio.sleep(0.5)
        cams = [t for p in stats["participants"] if p["identity"] == "host" for t in p["tracks"] if t["kind"] == "video"]
        identities = sorted(p["identity"] for p in stats["participants"])
        print(f"stats: participants {identities}, viewers {stats['viewers']}, camera subscribers {cams[0]['subscribers']}, "
              f"bitrate in {stats['bitrateIn']} out {stats['bitrateOut']}")
        assert identities == ["host", "viewer-a", "viewer-b", "viewer-c"]
        assert cams[0]["subscribers"] == 3 and stats["viewers"] == 3

        # ListParticipants sees one room of four.
        lk = api.LiveKitAPI(server.http_url, API_KEY, API_SECRET)
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room=ROOM))
        assert sorted(p.identity for p in listed.participants) == ["host", "viewer-a", "viewer-b", "viewer-c"]
        await lk.aclose()

        counts = {v.identity: (len(v.camera.frames), v.audio_frames) for v in (a, b, c)}
        speakers = {v.identity: any("host" in s for s in v.speakers) for v in (a, b, c)}
        print(f"decoded (video, audio frames): {counts}; host seen speaking: {speakers}; placements {placed}")
        assert all(video > 60 and audio > 300 for video, audio in [counts["viewer-a"], counts["viewer-b"]])
        assert all(speakers.values()), speakers

        # The host stops its camera: it ends for the viewers on both workers.
        await host.local_participant.unpublish_track(camera.sid)
        assert await wait_for(lambda: all("camera" in v.unsubscribed for v in (a, b, c)), 5), \
            {v.identity: v.unsubscribed for v in (a, b, c)}

        for task in sending:
            task.cancel()
        for v in (a, b, c):
            await v.close()
        await host.disconnect()

    asyncio.run(go())
    log = open(server.log_path, "rb").read().decode(errors="replace")
    assert "room spread to another worker" in log
    assert "could not relay" not in log
    # Once viewer-a and viewer-c (the second worker's members) left, the room left that worker.
    assert "room left a worker" in log
