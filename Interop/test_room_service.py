"""RoomService as LiveKit's own server SDK (`livekit-api`, PyPI) and plain HTTP+JSON see it."""
import asyncio
import json
import time
import urllib.error
import urllib.request

import jwt  # PyJWT, installed with livekit-api
import pytest
from livekit import api

from conftest import API_KEY, API_SECRET, SluiceServer


def run(coro):
    return asyncio.run(coro)


def lkapi(server):
    return api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)


def admin_token(room="", **grants):
    g = dict(room_create=True, room_list=True, room_admin=True, room=room)
    g.update(grants)
    return api.AccessToken(API_KEY, API_SECRET).with_identity("admin").with_grants(api.VideoGrants(**g)).to_jwt()


def twirp(server, method, body, token, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{server.http_url}/twirp/livekit.RoomService/{method}", data=data, method="POST",
        headers={"Content-Type": content_type, **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_livekit_api_room_lifecycle(server):
    async def go():
        lk = lkapi(server)
        try:
            room = await lk.room.create_room(api.CreateRoomRequest(name="live-sale", empty_timeout=600,
                                                                   max_participants=50, metadata="spring"))
            assert room.sid.startswith("RM_") and room.name == "live-sale"
            assert room.empty_timeout == 600 and room.max_participants == 50 and room.metadata == "spring"
            other = await lk.room.create_room(api.CreateRoomRequest(name="backstage"))
            assert other.empty_timeout == 300  # LiveKit's default
            again = await lk.room.create_room(api.CreateRoomRequest(name="live-sale"))
            assert again.sid == room.sid  # CreateRoom on an open room returns it

            listed = await lk.room.list_rooms(api.ListRoomsRequest())
            assert sorted(r.name for r in listed.rooms) == ["backstage", "live-sale"]
            named = await lk.room.list_rooms(api.ListRoomsRequest(names=["backstage"]))
            assert [r.sid for r in named.rooms] == [other.sid]

            updated = await lk.room.update_room_metadata(api.UpdateRoomMetadataRequest(room="live-sale", metadata="summer"))
            assert updated.metadata == "summer" and updated.sid == room.sid

            parts = await lk.room.list_participants(api.ListParticipantsRequest(room="live-sale"))
            assert list(parts.participants) == []

            await lk.room.delete_room(api.DeleteRoomRequest(room="backstage"))
            listed = await lk.room.list_rooms(api.ListRoomsRequest())
            assert [r.name for r in listed.rooms] == ["live-sale"]
            print(f"\nlivekit-api: created {room.sid}, listed, updated metadata, deleted backstage")
        finally:
            await lk.aclose()
    run(go())


def test_json_bodies_match_protobuf(server):
    token = admin_token(room="json-room")
    status, body = twirp(server, "CreateRoom", {"name": "json-room", "emptyTimeout": 77, "metadata": "m"}, token)
    assert status == 200, body
    room = json.loads(body)
    assert room["name"] == "json-room" and room["sid"].startswith("RM_") and room["emptyTimeout"] == 77

    async def via_sdk():
        lk = lkapi(server)
        try:
            return await lk.room.list_rooms(api.ListRoomsRequest(names=["json-room"]))
        finally:
            await lk.aclose()
    sdk_rooms = run(via_sdk()).rooms
    assert [r.sid for r in sdk_rooms] == [room["sid"]] and sdk_rooms[0].empty_timeout == 77

    status, body = twirp(server, "ListRooms", {}, token)
    assert status == 200 and [r["sid"] for r in json.loads(body)["rooms"]] == [room["sid"]]
    status, body = twirp(server, "UpdateRoomMetadata", {"room": "json-room", "metadata": "x"}, token)
    assert status == 200 and json.loads(body)["metadata"] == "x"
    status, body = twirp(server, "DeleteRoom", {"room": "json-room"}, token)
    assert status == 200
    status, body = twirp(server, "DeleteRoom", {"room": "json-room"}, token)
    assert status == 404 and json.loads(body)["code"] == "not_found"


def bad_tokens():
    now = int(time.time())
    video = {"roomCreate": True, "roomList": True, "roomAdmin": True}
    return {
        "missing": None,
        "malformed": "this.is.not-a-jwt",
        "garbage": "x" * 40,
        "expired": jwt.encode({"iss": API_KEY, "sub": "a", "nbf": now - 7200, "exp": now - 3600, "video": video},
                              API_SECRET, algorithm="HS256"),
        "wrong-secret": jwt.encode({"iss": API_KEY, "sub": "a", "exp": now + 600, "video": video},
                                   "not-the-secret", algorithm="HS256"),
        "unknown-key": jwt.encode({"iss": "nobody", "sub": "a", "exp": now + 600, "video": video},
                                  API_SECRET, algorithm="HS256"),
        "alg-none": jwt.encode({"iss": API_KEY, "sub": "a", "exp": now + 600, "video": video},
                               None, algorithm="none"),
    }


@pytest.mark.parametrize("kind", list(bad_tokens().keys()))
def test_bad_tokens_get_401(server, kind):
    token = bad_tokens()[kind]
    status, body = twirp(server, "ListRooms", {}, token)
    assert status == 401, (kind, status, body)
    err = json.loads(body)
    assert err["code"] == "unauthenticated" and err["msg"], err
    # The server carries on.
    status, _ = twirp(server, "ListRooms", {}, admin_token())
    assert status == 200


def test_missing_grant_gets_403(server):
    join_only = api.AccessToken(API_KEY, API_SECRET).with_identity("viewer") \
        .with_grants(api.VideoGrants(room_join=True, room="r")).to_jwt()
    for method, body in [("CreateRoom", {"name": "r"}), ("ListRooms", {}), ("DeleteRoom", {"room": "r"}),
                         ("UpdateRoomMetadata", {"room": "r", "metadata": "x"}), ("ListParticipants", {"room": "r"})]:
        status, resp = twirp(server, method, body, join_only)
        assert status == 403, (method, status, resp)
        assert json.loads(resp)["code"] == "permission_denied"
    # roomAdmin for another room does not reach this one
    status, _ = twirp(server, "UpdateRoomMetadata", {"room": "r", "metadata": "x"}, admin_token(room="elsewhere"))
    assert status == 403


def test_garbage_bodies_get_400(server):
    token = admin_token()
    cases = [
        (b"\xff\xff\xff\xff\x0f\x01", "application/protobuf"),
        (b"\x0a\x80\x01short", "application/protobuf"),
        (b"{not json", "application/json"),
        (b'{"name": 5}', "application/json"),
        (b'[1,2,3]', "application/json"),
        (b'{"name": ""}', "application/json"),
    ]
    for body, ctype in cases:
        status, resp = twirp(server, "CreateRoom", body, token, ctype)
        assert status == 400, (body, status, resp)
        assert json.loads(resp)["code"] in ("malformed", "invalid_argument")
    status, _ = twirp(server, "CreateRoom", {"name": "fine"}, token)
    assert status == 200


def test_rooms_survive_sigkill(workdir):
    first = SluiceServer(workdir).start()
    try:
        async def create():
            lk = lkapi(first)
            try:
                a = await lk.room.create_room(api.CreateRoomRequest(name="persist-a", metadata="A"))
                b = await lk.room.create_room(api.CreateRoomRequest(name="persist-b"))
                return {a.name: a.sid, b.name: b.sid}
            finally:
                await lk.aclose()
        created = run(create())
    finally:
        first.kill()
    second = SluiceServer(workdir, port=first.port).start()
    try:
        async def listed():
            lk = lkapi(second)
            try:
                return await lk.room.list_rooms(api.ListRoomsRequest())
            finally:
                await lk.aclose()
        rooms = {r.name: r for r in run(listed()).rooms}
        assert {n: r.sid for n, r in rooms.items()} == created
        assert rooms["persist-a"].metadata == "A"
        print(f"\nafter SIGKILL + restart ListRooms shows {sorted(created.items())}")
    finally:
        second.stop()


def test_sluice_token_accepted_by_livekit_api_verifier():
    import subprocess
    from conftest import sluice_binary
    out = subprocess.run([sluice_binary(), "token", "--room", "shop", "--identity", "host-1", "--name", "Host",
                          "--grants", "join,admin", "--sources", "camera,microphone", "--valid-for", "1h"],
                         check=True, capture_output=True, text=True).stdout.strip()
    claims = api.TokenVerifier(API_KEY, API_SECRET).verify(out)
    assert claims.identity == "host-1" and claims.name == "Host"
    assert claims.video.room_join and claims.video.room == "shop" and claims.video.room_admin
    assert claims.video.can_publish_sources == ["camera", "microphone"]
    bad = subprocess.run([sluice_binary(), "token", "--grants", "join"], capture_output=True, text=True)
    assert bad.returncode != 0 and "room" in bad.stderr


def test_livekit_api_tokens_accepted(server):
    token = api.AccessToken(API_KEY, API_SECRET).with_identity("svc").with_name("Service") \
        .with_metadata("{}").with_attributes({"k": "v"}) \
        .with_grants(api.VideoGrants(room_list=True)).to_jwt()
    status, body = twirp(server, "ListRooms", {}, token)
    assert status == 200, body
