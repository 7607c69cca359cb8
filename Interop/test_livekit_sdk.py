"""LiveKit's real-time Python SDK (Rust SDK + libwebrtc) against Sluice: joining, publishing,
subscribing, data, and the RoomService acting on live participants."""
import asyncio
import os
import signal
import subprocess
import sys
import time

import jwt  # PyJWT, installed with livekit-api
from livekit import api, rtc

from conftest import API_KEY, API_SECRET
from lk_rtc import Tone, VideoPattern, Viewer, connect, publish_audio, publish_video, token, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))


def run(coro):
    return asyncio.run(coro)


def lkapi(server):
    return api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)


def test_host_camera_screen_and_mic_reach_three_viewers(server):
    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "shop")
        camera, screen, tone = VideoPattern(320, 240, (200, 30, 30)), VideoPattern(640, 360, (30, 30, 200)), Tone()
        pubs = [
            await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, camera),
            await publish_video(host, "screen", rtc.TrackSource.SOURCE_SCREENSHARE, screen),
            await publish_audio(host, tone),
        ]
        assert all(p.sid.startswith("TR_") for p in pubs), [p.sid for p in pubs]
        joined, speakers, qualities = [], [], []
        host.on("participant_connected", lambda p: joined.append(p.identity))
        viewers = []
        for i in range(3):
            room = rtc.Room()
            viewer = Viewer(room)
            if i == 0:
                room.on("active_speakers_changed", lambda ss: speakers.append([p.identity for p in ss]))
                room.on("connection_quality_changed", lambda p, q: qualities.append((p.identity, q)))
            await asyncio.wait_for(room.connect(server.ws_url, token(f"viewer-{i}", "shop", can_publish=False)), 20)
            viewers.append(viewer)
        # A hidden participant (a recorder, say) watches too, but nobody sees or counts it.
        hidden = Viewer(rtc.Room())
        await asyncio.wait_for(hidden.room.connect(server.ws_url, token("ghost", "shop", hidden=True, can_publish=False)), 20)

        sending = asyncio.gather(camera.run(6), screen.run(6), tone.run(6))
        await sending
        await asyncio.sleep(0.5)
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room="shop"))
        identities = sorted(p.identity for p in listed.participants)
        host_info = next(p for p in listed.participants if p.identity == "host")
        print(f"\nsent: camera {camera.sent} frames, screen {screen.sent}, audio {tone.sent} x 10 ms")
        for v in viewers + [hidden]:
            print(f"{v.room.local_participant.identity}: decoded {dict(v.frames)} sizes {v.sizes}")
        print(f"ListParticipants: {identities}; host tracks {[(t.name, t.source, t.mime_type) for t in host_info.tracks]}")
        assert identities == ["host", "viewer-0", "viewer-1", "viewer-2"]
        assert sorted(joined) == ["viewer-0", "viewer-1", "viewer-2"]  # the hidden one is not announced
        assert sorted(t.source for t in host_info.tracks) == [1, 2, 3]  # camera, microphone, screen share
        for v in viewers + [hidden]:
            assert v.frames["camera"] >= camera.sent * 0.6, v.frames
            assert v.frames["screen"] >= screen.sent * 0.3, v.frames  # libwebrtc drops screencast frames without BWE feedback
            assert v.frames["mic"] >= 100, v.frames  # audio frames decoded (10 ms each)
            assert v.sizes["camera"] == (320, 240) and v.sizes["screen"] == (640, 360), v.sizes
            assert "ghost" not in v.room.remote_participants
        assert set(viewers[0].room.remote_participants) == {"host", "viewer-1", "viewer-2"}
        # The host's tone makes it the active speaker; quality reports arrive for everyone.
        print(f"speaker changes seen by viewer-0: {speakers[:4]}...; connection quality events: {qualities[:4]}...")
        assert ["host"] in speakers, speakers
        assert any(identity == "host" for identity, _ in qualities), qualities

        left = []
        viewers[1].room.on("participant_disconnected", lambda p: left.append(p.identity))
        await viewers[0].close()
        assert await wait_for(lambda: "viewer-0" in left, 5), left
        for v in viewers[1:] + [hidden]:
            await v.close()
        await host.disconnect()
        await lk.aclose()
    run(go())


def test_active_speaker_holds_through_a_short_pause_and_ends_in_silence(server):
    """active_speakers_changed as the SDK reports it: the host's tone makes it the speaker; a
    pause between two bursts shorter than the server's hold (1 s) changes nothing, as a breath
    between words should not; a longer silence ends it."""
    async def go():
        host = await connect(server, "host", "talk")
        tone = Tone()
        await publish_audio(host, tone)
        viewer = rtc.Room()
        changes, seen = [], []
        began = time.monotonic()

        def changed(speakers):
            changes.append([p.identity for p in speakers])
            seen.append(f"{changes[-1]} at {time.monotonic() - began:.2f} s")
        viewer.on("active_speakers_changed", changed)
        await asyncio.wait_for(viewer.connect(server.ws_url, token("viewer", "talk", can_publish=False)), 20)
        # Media seconds, not this loop's: 3 s of tone, 0.4 s of zeros, 2 s of tone, 4 s of zeros.
        began = time.monotonic()
        await tone.play(3)
        await tone.play(0.4, silent=True)
        await tone.play(2)
        await tone.play(4, silent=True)
        await wait_for(lambda: changes[-1:] == [[]], 5)
        print(f"\nspeaker changes seen by the viewer: {seen}")
        assert changes == [["host"], []], seen
        await viewer.disconnect()
        await host.disconnect()
    run(go())


def test_data_packets_reach_everyone_or_the_named_participant(server):
    async def go():
        rooms = {name: await connect(server, name, "data") for name in ("alice", "bob", "carol")}
        got = {name: [] for name in rooms}
        for name, room in rooms.items():
            room.on("data_received", lambda packet, name=name: got[name].append(
                (packet.data.decode(), packet.topic, packet.participant.identity if packet.participant else None, packet.kind)))
        await asyncio.sleep(1.0)  # data channels open
        lp = rooms["alice"].local_participant
        await lp.publish_data(b"to all, reliably", reliable=True, topic="chat")
        await lp.publish_data(b"to all, lossy", reliable=False, topic="cursor")
        await lp.publish_data(b"only for carol", reliable=True, topic="dm", destination_identities=["carol"])
        lk = lkapi(server)
        await lk.room.send_data(api.SendDataRequest(room="data", data=b"from the server", kind=0, topic="news",
                                                    destination_identities=["bob"]))
        await wait_for(lambda: len(got["carol"]) >= 3 and len(got["bob"]) >= 3, 10)
        print(f"\nbob got {got['bob']}\ncarol got {got['carol']}\nalice got {got['alice']}")
        RELIABLE, LOSSY = rtc.DataPacketKind.KIND_RELIABLE, rtc.DataPacketKind.KIND_LOSSY
        assert ("to all, reliably", "chat", "alice", RELIABLE) in got["bob"]
        assert ("to all, reliably", "chat", "alice", RELIABLE) in got["carol"]
        assert ("to all, lossy", "cursor", "alice", LOSSY) in got["bob"]
        assert ("to all, lossy", "cursor", "alice", LOSSY) in got["carol"]
        assert ("only for carol", "dm", "alice", RELIABLE) in got["carol"]
        assert all(m[0] != "only for carol" for m in got["bob"])
        assert any(m[0] == "from the server" and m[1] == "news" for m in got["bob"])
        assert all(m[0] != "from the server" for m in got["carol"])
        assert got["alice"] == [] or all(m[2] != "alice" for m in got["alice"])  # never echoed to the sender
        for room in rooms.values():
            await room.disconnect()
        await lk.aclose()
    run(go())


def test_room_service_mutes_removes_and_updates_live_participants(server):
    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "admin")
        pattern = VideoPattern(160, 120, (0, 200, 0))
        pub = await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern)
        sending = asyncio.ensure_future(pattern.run(8))
        viewer = await connect(server, "viewer", "admin", can_publish=False)
        other = await connect(server, "other", "admin", can_publish=False)
        muted, reasons, metadata = [], [], []
        viewer.on("track_muted", lambda participant, publication: muted.append((participant.identity, publication.sid)))
        viewer.on("disconnected", lambda reason: reasons.append(reason))
        other.on("participant_metadata_changed", lambda p, old, new: metadata.append((p.identity, new)))
        host.on("participant_metadata_changed", lambda p, old, new: metadata.append(("host-sees", p.identity, new)))
        await asyncio.sleep(1.0)

        res = await lk.room.mute_published_track(api.MuteRoomTrackRequest(room="admin", identity="host", track_sid=pub.sid, muted=True))
        assert res.track.sid == pub.sid and res.track.muted
        assert await wait_for(lambda: ("host", pub.sid) in muted, 5), muted

        await lk.room.update_participant(api.UpdateParticipantRequest(room="admin", identity="host", metadata="sold out"))
        assert await wait_for(lambda: ("host", "sold out") in metadata, 5), metadata

        await lk.room.remove_participant(api.RoomParticipantIdentity(room="admin", identity="viewer"))
        assert await wait_for(lambda: reasons, 5), "viewer was not disconnected"
        print(f"\nmuted seen by viewer: {muted}; metadata seen: {metadata}; viewer disconnect reason: {reasons}")
        assert reasons[0] == rtc.DisconnectReason.PARTICIPANT_REMOVED, reasons
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room="admin"))
        assert sorted(p.identity for p in listed.participants) == ["host", "other"]
        sending.cancel()
        await other.disconnect()
        await host.disconnect()
        await lk.aclose()
    run(go())


def test_grants_are_enforced(server):
    async def go():
        lk = lkapi(server)
        viewer = await connect(server, "watcher", "room-a", can_publish=False)
        pattern = VideoPattern(160, 120, (1, 2, 3))
        track = rtc.LocalVideoTrack.create_video_track("sneaky", pattern.source)
        try:
            await asyncio.wait_for(viewer.local_participant.publish_track(
                track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA)), 12)
            published = True
        except Exception as e:
            published = False
            print(f"\npublish without canPublish refused: {type(e).__name__}: {e}")
        assert not published
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room="room-a"))
        assert [list(p.tracks) for p in listed.participants] == [[]]

        # Sources: a camera-only token may not share its screen.
        cam_only = await connect(server, "cam-only", "room-a", can_publish_sources=["camera"])
        ok = await publish_video(cam_only, "cam", rtc.TrackSource.SOURCE_CAMERA, VideoPattern(160, 120, (5, 5, 5)))
        assert ok.sid.startswith("TR_")
        try:
            await asyncio.wait_for(cam_only.local_participant.publish_track(
                rtc.LocalVideoTrack.create_video_track("scr", VideoPattern(160, 120, (6, 6, 6)).source),
                rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_SCREENSHARE)), 12)
            shared = True
        except Exception:
            shared = False
        assert not shared

        # A token for room-a lands in room-a, whatever else the client does.
        rooms = await lk.room.list_rooms(api.ListRoomsRequest())
        assert [r.name for r in rooms.rooms] == ["room-a"]
        # No room in the token: refused before any WebSocket.
        now = int(time.time())
        bad = jwt.encode({"iss": API_KEY, "sub": "x", "nbf": now, "exp": now + 600, "video": {"roomJoin": True}},
                         API_SECRET, algorithm="HS256")
        try:
            await asyncio.wait_for(rtc.Room().connect(server.ws_url, bad), 15)
            joined = True
        except Exception as e:
            joined = False
            print(f"token without room refused: {e}")
        assert not joined
        await viewer.disconnect()
        await cam_only.disconnect()
        await lk.aclose()
    run(go())


def test_killed_client_leaves_within_ping_timeout(server):
    async def go():
        lk = lkapi(server)
        watcher = await connect(server, "watcher", "crash")
        left = []
        watcher.on("participant_disconnected", lambda p: left.append((p.identity, time.monotonic())))
        child = subprocess.Popen([sys.executable, os.path.join(HERE, "lk_child.py"), server.ws_url,
                                  token("doomed", "crash")], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "connected"
        assert await wait_for(lambda: "doomed" in watcher.remote_participants, 5)
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed_at = time.monotonic()
        assert await wait_for(lambda: left, 20), "the killed client never left"
        took = left[0][1] - killed_at
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room="crash"))
        print(f"\nkilled client left after {took:.1f} s; remaining {[p.identity for p in listed.participants]}")
        assert took <= 16
        assert [p.identity for p in listed.participants] == ["watcher"]
        await watcher.disconnect()
        await lk.aclose()
    run(go())


def test_explicit_subscriptions_and_duplicate_identity(server):
    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "subs")
        pattern = VideoPattern(160, 120, (90, 90, 0))
        pub = await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern)
        sending = asyncio.ensure_future(pattern.run(12))
        # A viewer that does not auto-subscribe sees the track but receives nothing until it asks.
        room = rtc.Room()
        viewer = Viewer(room)
        await asyncio.wait_for(room.connect(server.ws_url, token("picky", "subs"), rtc.RoomOptions(auto_subscribe=False)), 20)
        await asyncio.sleep(1.5)
        assert viewer.frames["camera"] == 0
        remote = room.remote_participants["host"].track_publications[pub.sid]
        remote.set_subscribed(True)  # an UpdateSubscription request
        assert await wait_for(lambda: viewer.frames["camera"] >= 10, 8), viewer.frames
        # The server API unsubscribes it again.
        await lk.room.update_subscriptions(api.UpdateSubscriptionsRequest(room="subs", identity="picky",
                                                                          track_sids=[pub.sid], subscribe=False))
        await asyncio.sleep(1.0)
        before = viewer.frames["camera"]
        await asyncio.sleep(1.5)
        after = viewer.frames["camera"]
        print(f"\nexplicit subscription decoded {before} frames; after the API unsubscribed: +{after - before} in 1.5 s")
        assert after - before <= 2, (before, after)

        # The same identity joining again evicts the older session.
        reasons = []
        room.on("disconnected", lambda reason: reasons.append(reason))
        again = await connect(server, "picky", "subs")
        assert await wait_for(lambda: reasons, 5), "older session not evicted"
        assert reasons[0] == rtc.DisconnectReason.DUPLICATE_IDENTITY, reasons
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room="subs"))
        assert sorted(p.identity for p in listed.participants) == ["host", "picky"]
        print(f"older session ended with {reasons[0]}")
        sending.cancel()
        await again.disconnect()
        await host.disconnect()
        await lk.aclose()
    run(go())


def test_bad_sdp_ends_only_that_session(server):
    """A client sending an unusable offer is told to leave; a real SDK client next to it is unaffected."""
    from livekit.protocol import rtc as proto
    from lk_signal import Client

    async def go():
        watcher = await connect(server, "watcher", "bad-sdp")
        raw = await Client.connect(server, token("broken", "bad-sdp"))
        await raw.send(offer=proto.SessionDescription(type="offer", sdp="v=0\r\nthis is not sdp\r\n", id=1))
        leave = await raw.expect("leave", timeout=5)
        print(f"\nbad offer answered with leave reason {leave.reason}")
        assert leave.reason == 6  # STATE_MISMATCH
        await raw.close()
        assert await wait_for(lambda: "broken" not in watcher.remote_participants, 5)
        lk = lkapi(server)
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room="bad-sdp"))
        assert [p.identity for p in listed.participants] == ["watcher"]
        assert watcher.connection_state == rtc.ConnectionState.CONN_CONNECTED
        await watcher.disconnect()
        await lk.aclose()
    run(go())


def test_update_participant_permission_takes_publishing_away(server):
    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "perm")
        pattern = VideoPattern(160, 120, (1, 100, 200))
        pub = await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern)
        sending = asyncio.ensure_future(pattern.run(10))
        viewer = await connect(server, "viewer", "perm", can_publish=False)
        unpublished = []
        viewer.on("track_unpublished", lambda publication, participant: unpublished.append(publication.sid))
        await asyncio.sleep(1.0)
        info = await lk.room.update_participant(api.UpdateParticipantRequest(
            room="perm", identity="host", permission=api.ParticipantPermission(can_publish=False, can_subscribe=True,
                                                                              can_publish_data=True)))
        assert not info.permission.can_publish
        assert await wait_for(lambda: pub.sid in unpublished, 5), unpublished
        listed = await lk.room.get_participant(api.RoomParticipantIdentity(room="perm", identity="host"))
        print(f"\nafter revoking canPublish: viewer saw unpublished {unpublished}; host tracks {list(listed.tracks)}")
        assert list(listed.tracks) == []
        sending.cancel()
        await viewer.disconnect()
        await host.disconnect()
        await lk.aclose()
    run(go())
