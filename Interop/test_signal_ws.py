"""LiveKit signalling over `/rtc`, spoken frame by frame with LiveKit's own protobuf classes
(`livekit-protocol`), and checked against `livekit-api` calls. These cover what does not need
media; the `livekit` SDK tests cover the full join once media flows."""
import asyncio
import time
import urllib.error
import urllib.request

import pytest
from livekit import api
from livekit.protocol import models, rtc

from conftest import API_KEY, API_SECRET, SluiceServer
from lk_signal import Client


def token(identity, room="shop", **grants):
    g = dict(room_join=True, room=room)
    g.update(grants)
    return api.AccessToken(API_KEY, API_SECRET).with_identity(identity).with_name(identity.title()) \
        .with_grants(api.VideoGrants(**g)).to_jwt()


def http_get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def lk(server):
    return api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)


def test_paths_and_validate(server):
    # /rtc/v1 is served: the token first, then its join_request.
    assert http_get(f"{server.http_url}/rtc/v1?join_request=x")[0] == 401
    assert http_get(f"{server.http_url}/rtc/v1/validate")[0] == 401
    status, body = http_get(f"{server.http_url}/rtc/v1/validate?access_token={token('a')}&join_request=AAAA")
    assert status == 400 and body.startswith("bad join_request"), (status, body)
    status, body = http_get(f"{server.http_url}/rtc/validate?access_token={token('a')}")
    assert (status, body) == (200, "success")
    status, body = http_get(f"{server.http_url}/rtc/validate", {"Authorization": f"Bearer {token('a')}"})
    assert status == 200
    status, body = http_get(f"{server.http_url}/rtc/validate?access_token=garbage")
    assert status == 401 and "invalid token" in body
    no_join = api.AccessToken(API_KEY, API_SECRET).with_identity("x").with_grants(api.VideoGrants(room_list=True)).to_jwt()
    status, body = http_get(f"{server.http_url}/rtc/validate?access_token={no_join}")
    assert status == 401 and "roomJoin" in body
    # A refused upgrade is plain HTTP with the reason, not a WebSocket.
    status, body = http_get(f"{server.http_url}/rtc?access_token=garbage",
                            {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert status == 401 and "invalid token" in body


def test_join_response_and_participants(server):
    async def go():
        host = await Client.connect(server, token("host"))
        j = host.join
        assert j.room.name == "shop" and j.room.sid.startswith("RM_")
        assert j.participant.identity == "host" and j.participant.sid.startswith("PA_")
        assert j.participant.name == "Host" and j.participant.permission.can_publish
        assert j.ping_interval > 0 and j.ping_timeout > 0 and j.server_info.version and j.server_version
        assert list(j.other_participants) == []

        viewer = await Client.connect(server, token("viewer", can_publish=False), header=False)
        assert [p.identity for p in viewer.join.other_participants] == ["host"]
        assert not viewer.join.participant.permission.can_publish
        upd = await host.expect("update", where=lambda u: any(p.identity == "viewer" for p in u.participants))
        v1 = [p for p in upd.participants if p.identity == "viewer"][0].version

        # Hidden participants are neither announced nor counted.
        ghost = await Client.connect(server, token("ghost", hidden=True))
        assert len(ghost.join.other_participants) == 2

        client = lk(server)
        try:
            listed = await client.room.list_participants(api.ListParticipantsRequest(room="shop"))
            assert sorted(p.identity for p in listed.participants) == ["host", "viewer"]
            rooms = await client.room.list_rooms(api.ListRoomsRequest(names=["shop"]))
            assert rooms.rooms[0].num_participants == 2
            got = await client.room.get_participant(api.RoomParticipantIdentity(room="shop", identity="viewer"))
            assert got.sid == viewer.join.participant.sid

            # API metadata update reaches everyone, with a higher version.
            await client.room.update_participant(api.UpdateParticipantRequest(
                room="shop", identity="viewer", metadata='{"cart":3}', attributes={"tier": "gold"}))
            u = await host.expect("update", where=lambda u: any(p.metadata == '{"cart":3}' for p in u.participants))
            p = [p for p in u.participants if p.identity == "viewer"][0]
            assert p.version > v1 and p.attributes["tier"] == "gold"
            await viewer.expect("update", where=lambda u: any(p.metadata == '{"cart":3}' for p in u.participants))

            # ping_req -> pong_resp echoing the timestamp
            await host.send(ping_req=rtc.Ping(timestamp=123456, rtt=7))
            pong = await host.expect("pong_resp")
            assert pong.last_ping_timestamp == 123456 and pong.timestamp > 0

            # The viewer leaves: the host sees it disconnected, ListParticipants shrinks.
            await viewer.send(leave=rtc.LeaveRequest(reason=models.DisconnectReason.CLIENT_INITIATED))
            gone = await host.expect("update", where=lambda u: any(
                p.identity == "viewer" and p.state == models.ParticipantInfo.DISCONNECTED for p in u.participants))
            assert gone
            listed = await client.room.list_participants(api.ListParticipantsRequest(room="shop"))
            assert [p.identity for p in listed.participants] == ["host"]

            # RemoveParticipant disconnects with the reason.
            await client.room.remove_participant(api.RoomParticipantIdentity(room="shop", identity="host"))
            leave = await host.expect("leave")
            assert leave.reason == models.DisconnectReason.PARTICIPANT_REMOVED
        finally:
            await client.aclose()
            for c in (host, viewer, ghost):
                await c.close()
    asyncio.run(go())


def test_duplicate_identity_evicts_older(server):
    async def go():
        first = await Client.connect(server, token("host"))
        second = await Client.connect(server, token("host"))
        leave = await first.expect("leave")
        assert leave.reason == models.DisconnectReason.DUPLICATE_IDENTITY
        assert second.join.participant.sid != first.join.participant.sid
        client = lk(server)
        try:
            listed = await client.room.list_participants(api.ListParticipantsRequest(room="shop"))
            assert [p.sid for p in listed.participants] == [second.join.participant.sid]
        finally:
            await client.aclose()
            await first.close()
            await second.close()
    asyncio.run(go())


def test_garbage_frames_end_only_that_session(server):
    async def go():
        good = await Client.connect(server, token("good"))
        bad = await Client.connect(server, token("bad"))
        await bad.ws.send_bytes(b"\xff\xff\xff\xff\xff\x00garbage")
        leave = await bad.expect("leave")
        assert leave.action == rtc.LeaveRequest.DISCONNECT
        await good.expect("update", where=lambda u: any(
            p.identity == "bad" and p.state == models.ParticipantInfo.DISCONNECTED for p in u.participants))
        await good.send(ping_req=rtc.Ping(timestamp=1))
        assert (await good.expect("pong_resp")).last_ping_timestamp == 1
        await good.close()
        await bad.close()
    asyncio.run(go())


def test_room_limits_and_auto_create(workdir):
    s = SluiceServer(workdir, extra_config="room:\n  auto_create: false\n").start()
    try:
        status, body = http_get(f"{s.http_url}/rtc/validate?access_token={token('a', room='nope')}")
        assert status == 404 and body == "requested room does not exist"

        async def go():
            client = lk(s)
            try:
                await client.room.create_room(api.CreateRoomRequest(name="tiny", max_participants=1))
            finally:
                await client.aclose()
            one = await Client.connect(s, token("one", room="tiny"))
            status, body = http_get(f"{s.http_url}/rtc/validate?access_token={token('two', room='tiny')}")
            assert status == 403 and "full" in body
            # hidden participants do not count
            ghost = await Client.connect(s, token("ghost", room="tiny", hidden=True))
            await one.close()
            await ghost.close()
        asyncio.run(go())
    finally:
        s.stop()


def test_add_track_is_answered_and_grants_enforced(server):
    async def go():
        host = await Client.connect(server, token("host", can_publish_sources=["camera", "microphone"]))
        await host.send(add_track=rtc.AddTrackRequest(
            cid="cam-1", name="camera", type=models.TrackType.VIDEO, source=models.TrackSource.CAMERA,
            width=1280, height=720,
            layers=[models.VideoLayer(quality=models.VideoQuality.LOW, width=320, height=180),
                    models.VideoLayer(quality=models.VideoQuality.HIGH, width=1280, height=720)]))
        published = await host.expect("track_published")
        assert published.cid == "cam-1" and published.track.sid.startswith("TR_")
        assert published.track.source == models.TrackSource.CAMERA and published.track.simulcast

        # Screen share is outside this token's canPublishSources.
        await host.send(add_track=rtc.AddTrackRequest(cid="scr", type=models.TrackType.VIDEO,
                                                      source=models.TrackSource.SCREEN_SHARE))
        refused = await host.expect("request_response")
        assert refused.reason == rtc.RequestResponse.NOT_ALLOWED and refused.add_track.cid == "scr"

        viewer = await Client.connect(server, token("viewer", can_publish=False))
        await viewer.send(add_track=rtc.AddTrackRequest(cid="v", type=models.TrackType.AUDIO,
                                                        source=models.TrackSource.MICROPHONE))
        refused = await viewer.expect("request_response")
        assert refused.reason == rtc.RequestResponse.NOT_ALLOWED
        await host.close()
        await viewer.close()
    asyncio.run(go())
