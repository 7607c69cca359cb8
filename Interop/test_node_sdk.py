"""LiveKit's Node server SDK (`livekit-server-sdk` 2.15.2, the one the platform's Next.js routes use)
as a judge of Sluice's APIs: Node scripts under Interop/node/ call every RoomService and Egress
method, mint and verify tokens and verify webhooks, while LiveKit's Python real-time SDK (`livekit`)
publishes camera + mic and watches the effects as a viewer would.

The SDK builds its JSON with protobuf-es (camelCase names, enums by name, int64 as strings, the
legacy egress oneofs filled beside the output lists) and parses replies with camelcase-keys +
`fromJson`, so it checks both directions of the JSON Twirp path. It is not on npm here: it comes from
shared/clients/node-server-sdk beside the repository (SLUICE_NODE_SDK overrides)."""
import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from livekit import rtc

from conftest import API_KEY, API_SECRET, REPO, SluiceServer, free_port, sluice_binary
from lk_rtc import Tone, VideoPattern, Viewer, connect, publish_audio, publish_video, wait_for
from test_egress import decode_errors, media_end, probe, publish_camera

NODE_DIR = os.path.join(REPO, "Interop", "node")


def node_env():
    modules = os.environ.get("SLUICE_NODE_SDK") or os.path.normpath(
        os.path.join(REPO, "..", "shared", "clients", "node-server-sdk", "node_modules"))
    if not os.path.isdir(os.path.join(modules, "livekit-server-sdk")):
        pytest.fail(f"LiveKit's Node server SDK not found in {modules} (set SLUICE_NODE_SDK)")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20) is not installed: scripts/deps.sh test installs it")
    return node, dict(os.environ, NODE_PATH=modules, LIVEKIT_API_KEY=API_KEY, LIVEKIT_API_SECRET=API_SECRET)


async def node(script, *args, timeout=120):
    """Runs Interop/node/<script> and returns its JSON lines by step (a list where a step repeats)."""
    binary, env = node_env()
    proc = await asyncio.create_subprocess_exec(binary, os.path.join(NODE_DIR, script), *map(str, args),
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    steps = {}
    for line in stdout.decode().splitlines():
        print(f"node {script}: {line[:600]}")
        entry = json.loads(line)
        steps.setdefault(entry["step"], []).append(entry)
    assert proc.returncode == 0 and "crash" not in steps, (proc.returncode, stderr.decode()[-2000:], steps.get("crash"))
    return {k: v[0] if len(v) == 1 else v for k, v in steps.items()}


def refused(step, status, code):
    """The SDK threw its TwirpError with LiveKit's status and code (not a parse error)."""
    return step.get("error") and step["name"] == "TwirpError" and step["status"] == status and step["code"] == code


class Watcher:
    """Records what a Python `livekit` participant sees: mutes, data, subscriptions, its own updates."""

    def __init__(self, room):
        self.room = room
        self.muted, self.data, self.unsubscribed, self.subscribed = [], [], [], []
        self.left, self.disconnected, self.room_metadata = [], [], []
        room.on("track_muted", lambda participant, pub: self.muted.append((participant.identity, pub.sid)))
        room.on("data_received", lambda packet: self.data.append((packet.topic, bytes(packet.data).decode())))
        room.on("track_subscribed", lambda track, pub, participant: self.subscribed.append(pub.sid))
        room.on("track_unsubscribed", lambda track, pub, participant: self.unsubscribed.append(pub.sid))
        room.on("participant_disconnected", lambda participant: self.left.append(participant.identity))
        room.on("disconnected", lambda reason: self.disconnected.append(reason))
        room.on("room_metadata_changed", lambda old, new: self.room_metadata.append(new))


def validate_status(server, token):
    """Status of GET /rtc/validate with the token, as a client's join would be judged."""
    try:
        with urllib.request.urlopen(f"{server.http_url}/rtc/validate?access_token={token}", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_room_service_methods_and_tokens_through_the_node_sdk(server):
    room = "shop"

    async def go():
        created = await node("room_service.cjs", server.http_url, room, "create")
        minted = (await node("tokens.cjs", "mint", room))["mint"]
        tokens = minted["tokens"]
        token_status = {k: validate_status(server, tokens[k]) for k in ("viewer", "leaver", "expired")}

        host = await connect(server, "host", room)
        pattern, tone = VideoPattern(320, 240, (200, 40, 40), fps=15), Tone()
        camera = await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern)
        mic = await publish_audio(host, tone)
        sending = asyncio.gather(pattern.run(25), tone.run(25))
        host_watch = Watcher(host)

        # The viewer and the leaver join with tokens minted by the Node SDK's AccessToken.
        viewer, leaver = rtc.Room(), rtc.Room()
        viewer_watch, leaver_watch = Watcher(viewer), Watcher(leaver)
        decoded = Viewer(viewer)  # counts the viewer's decoded frames by track name
        await asyncio.wait_for(viewer.connect(server.ws_url, tokens["viewer"]), 20)
        await asyncio.wait_for(leaver.connect(server.ws_url, tokens["leaver"]), 20)
        assert await wait_for(lambda: {camera.sid, mic.sid} <= set(viewer_watch.subscribed), 15), viewer_watch.subscribed
        assert await wait_for(lambda: decoded.frames["camera"] >= 10, 10), decoded.frames
        joined_as = {"identity": viewer.local_participant.identity, "name": viewer.local_participant.name,
                     "metadata": viewer.local_participant.metadata,
                     "attributes": dict(viewer.local_participant.attributes)}

        drive = await node("room_service.cjs", server.http_url, room, "drive")
        # UpdateSubscriptions took the camera from the viewer: no more of its frames are decoded
        # while the host still sends them (the room is deleted only afterwards).
        await asyncio.sleep(0.5)
        before = decoded.frames["camera"]
        await asyncio.sleep(1.5)
        camera_frames = (before, decoded.frames["camera"] - before, pattern.sent)
        teardown = await node("room_service.cjs", server.http_url, room, "teardown")
        await wait_for(lambda: host_watch.disconnected, 5)
        viewer_after = {"metadata": viewer.local_participant.metadata, "name": viewer.local_participant.name,
                        "attributes": dict(viewer.local_participant.attributes)}
        sending.cancel()
        for r in (viewer, leaver, host):
            await r.disconnect()
        for task in decoded.tasks:
            task.cancel()
        return (created, minted, token_status, camera.sid, mic.sid, joined_as, drive, viewer_after,
                host_watch, viewer_watch, leaver_watch, camera_frames, teardown)

    (created, minted, token_status, camera_sid, mic_sid, joined_as, drive, viewer_after,
     host_watch, viewer_watch, leaver_watch, camera_frames, teardown) = asyncio.run(go())

    # createRoom with every option the SDK has; automatic egress is refused plainly (not ignored).
    room_info = created["createRoom"]["result"]
    print(f"\ncreateRoom -> {room_info}")
    assert room_info["sid"].startswith("RM_") and room_info["name"] == room
    assert (room_info["emptyTimeout"], room_info["departureTimeout"], room_info["maxParticipants"]) == (300, 20, 10)
    assert room_info["metadata"] == '{"sale":"soon"}'
    assert refused(created["createRoomWithAutoEgress"], 501, "unimplemented"), created["createRoomWithAutoEgress"]
    assert [r["name"] for r in created["listRoomsByName"]["result"]] == [room]

    # Tokens from the SDK: accepted with their claims; the expired one refused.
    print(f"token /rtc/validate statuses: {token_status}; viewer joined as {joined_as}")
    assert token_status == {"viewer": 200, "leaver": 200, "expired": 401}, token_status
    assert joined_as == {"identity": "viewer", "name": "Viewer", "metadata": '{"seat":"A1"}',
                         "attributes": {"plan": "pro", "locale": "fr"}}, joined_as
    claims = minted["claims"]["viewer"]
    assert claims["exp"] - claims["nbf"] == 600 and claims["video"]["canPublish"] is False

    # The room-status route and the rest, as the SDK parsed Sluice's replies.
    status = drive["listRoomsByName"]["result"]
    print(f"listRooms([{room!r}]) -> {status}")
    assert len(status) == 1 and status[0]["numParticipants"] == 3 and status[0]["metadata"] == '{"sale":"soon"}'
    assert status[0]["numPublishers"] == 1, status
    assert room in drive["listRoomsAll"]["names"]
    assert drive["updateRoomMetadata"]["result"]["metadata"] == '{"sale":"on"}'
    assert '{"sale":"on"}' in viewer_watch.room_metadata, viewer_watch.room_metadata
    people = {p["identity"]: p for p in drive["listParticipants"]["result"]}
    assert sorted(people) == ["host", "leaver", "viewer"], people
    assert people["viewer"]["name"] == "Viewer" and people["viewer"]["attributes"] == {"plan": "pro", "locale": "fr"}
    # The token's canPublish: false is the participant's permission (protojson leaves false out).
    assert not people["viewer"]["permission"].get("canPublish") and people["viewer"]["permission"]["canSubscribe"]
    assert people["leaver"]["permission"].get("canPublishSources") == ["MICROPHONE"], people["leaver"]
    host_info = drive["getParticipant"]["result"]
    # protojson leaves out values at their default: a track without "type" is AUDIO (0).
    kinds = sorted((t.get("type", "AUDIO"), t["source"]) for t in host_info["tracks"])
    assert kinds == [("AUDIO", "MICROPHONE"), ("VIDEO", "CAMERA")], host_info
    assert drive["hostTracks"] == {"step": "hostTracks", "mic": mic_sid, "camera": camera_sid}

    # MutePublishedTrack: the reply says muted, and the Python viewer sees the host's mic muted.
    muted = drive["mutePublishedTrack"]["result"]
    assert muted["sid"] == mic_sid and muted["muted"] is True, muted
    assert ("host", mic_sid) in viewer_watch.muted, viewer_watch.muted

    # UpdateParticipant with permission, attributes (merged into the token's), metadata, name.
    updated = drive["updateParticipant"]["result"]
    print(f"updateParticipant -> {updated}; the viewer now sees itself as {viewer_after}")
    assert updated["metadata"] == '{"vip":true}' and updated["name"] == "Vera"
    assert updated["attributes"] == {"plan": "pro", "locale": "fr", "tier": "gold"}, updated
    assert updated["permission"]["canSubscribe"] and updated["permission"]["canPublishSources"] == ["MICROPHONE"]
    assert viewer_after == {"metadata": '{"vip":true}', "name": "Vera",
                            "attributes": {"plan": "pro", "locale": "fr", "tier": "gold"}}, viewer_after
    assert drive["updateParticipantPositional"]["result"]["metadata"] == '{"legacy":1}'

    # UpdateSubscriptions: the viewer stops getting the camera.
    assert drive["updateSubscriptions"] == {"step": "updateSubscriptions", "ok": True}
    print(f"viewer decoded {camera_frames[0]} camera frames before the unsubscribe, +{camera_frames[1]} in 1.5 s "
          f"after it (the host had sent {camera_frames[2]})")
    assert camera_frames[0] >= 10 and camera_frames[1] <= 2, camera_frames

    # SendData with topic and destinations (identities, and the legacy sids).
    print(f"data: viewer got {viewer_watch.data}, leaver got {leaver_watch.data}, host got {host_watch.data}")
    assert ("offers", "offer: 20% off") in viewer_watch.data
    assert ("offers", "offer: 20% off") not in leaver_watch.data
    assert ("by-sid", "for the leaver") in leaver_watch.data and not any(t == "by-sid" for t, _ in viewer_watch.data)
    assert all(("all", "hello all") in w.data for w in (viewer_watch, leaver_watch, host_watch))

    # RemoveParticipant: the leaver is disconnected, the others see it leave, the list shrinks.
    assert leaver_watch.disconnected, "the removed participant was not disconnected"
    assert "leaver" in viewer_watch.left
    assert drive["listParticipantsAfterRemove"]["identities"] == ["host", "viewer"]

    # Errors as the app's try/catch sees them.
    for name, status_code, code in [("getUnknownParticipant", 404, "not_found"), ("muteUnknownTrack", 404, "not_found"),
                                    ("metadataOfUnknownRoom", 404, "not_found"),
                                    ("moveParticipant", 501, "unimplemented"), ("forwardParticipant", 501, "unimplemented"),
                                    ("listIngress", 501, "unimplemented"), ("listSipInboundTrunk", 501, "unimplemented"),
                                    ("listDispatch", 501, "unimplemented"),
                                    ("wrongSecret", 401, "unauthenticated")]:
        assert refused(drive[name], status_code, code), (name, drive[name])
        assert len(drive[name]["message"]) > 10, drive[name]

    # DeleteRoom: the room is gone and its participants are disconnected.
    assert teardown["deleteRoom"]["ok"] and teardown["listRoomsAfterDelete"]["names"] == []
    assert host_watch.disconnected, "deleting the room left the host connected"

    # `sluice token` output passes the SDK's TokenVerifier (and not with another secret).
    jwt = subprocess.run([sluice_binary(), "token", "--room", room, "--identity", "cli", "--name", "CLI",
                          "--metadata", "m1", "--grants", "join,admin,record", "--valid-for", "30m",
                          "--api-key", API_KEY, "--api-secret", API_SECRET],
                         capture_output=True, text=True, check=True).stdout.strip()
    verified = asyncio.run(node("tokens.cjs", "verify", jwt))
    cli = verified["verify"]["claims"]
    print(f"sluice token verified by the Node SDK: {cli}")
    assert cli["iss"] == API_KEY and cli["sub"] == "cli" and cli["name"] == "CLI" and cli["metadata"] == "m1"
    assert cli["video"]["roomJoin"] and cli["video"]["roomAdmin"] and cli["video"]["roomRecord"]
    assert cli["video"]["room"] == room and cli["exp"] - cli["nbf"] == 1800
    assert verified["verifyWrongSecret"].get("error"), verified["verifyWrongSecret"]


class NodeWebhookReceiver:
    """webhooks.cjs in the background: verifies each webhook with the SDK's WebhookReceiver."""

    def __init__(self, workdir):
        binary, env = node_env()
        self.port = free_port()
        self.out_path = os.path.join(workdir, "webhooks.jsonl")
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen([binary, os.path.join(NODE_DIR, "webhooks.cjs"), str(self.port)],
                                     stdin=subprocess.PIPE, stdout=self.out, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 15
        while time.time() < deadline and not any(e["step"] == "listening" for e in self.lines()):
            time.sleep(0.1)
        assert any(e["step"] == "listening" for e in self.lines()), open(self.out_path).read()

    def lines(self):
        with open(self.out_path) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    def webhooks(self):
        return [e for e in self.lines() if e["step"] == "webhook"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.out.close()


RECORD_SECONDS = 8


def test_app_routes_every_egress_method_and_verified_webhooks(workdir):
    room = "sale"
    receiver = NodeWebhookReceiver(workdir)
    server = SluiceServer(workdir, extra_config=(
        f"webhook:\n  api_key: {API_KEY}\n  urls:\n    - http://127.0.0.1:{receiver.port}/livekit/webhook\n")).start()
    try:
        async def go():
            await node("room_service.cjs", server.http_url, room, "create")
            host = await connect(server, "host", room)
            # H.264, so the MP4 outputs take the camera as it is and the machine's cores go to the
            # room composite's decode and encode.
            pattern, tone = VideoPattern(320, 240, (40, 160, 40), fps=15), Tone()
            camera = await publish_camera(host, pattern, rtc.VideoCodec.H264)
            mic = await publish_audio(host, tone)
            sending = asyncio.gather(pattern.run(RECORD_SECONDS + 14), tone.run(RECORD_SECONDS + 14))
            audience = await connect(server, "audience", room)
            await asyncio.sleep(1.5)  # past the publisher's start-up keyframes
            started = time.monotonic()
            steps = await node("egress.cjs", server.http_url, room, RECORD_SECONDS, timeout=180)
            wall = time.monotonic() - started
            await host.local_participant.unpublish_track(camera.sid)
            await asyncio.sleep(0.5)
            sending.cancel()
            await audience.disconnect()
            await host.disconnect()
            await asyncio.sleep(0.5)
            await node("room_service.cjs", server.http_url, room, "teardown")
            return steps, camera.sid, mic.sid, wall

        steps, camera_sid, mic_sid, wall = asyncio.run(go())
        assert wait_for_sync(lambda: any(w.get("event") == "room_finished" for w in receiver.webhooks()), 10)
    finally:
        server.stop()
        receiver.close()

    # Route 1: room status.
    status = steps["roomStatus"]
    assert status["numParticipants"] == 2 and status["metadata"] == '{"sale":"soon"}', status
    assert sorted(p["identity"] for p in status["participants"]) == ["audience", "host"]

    # Route 2: the app's recording start, the SDK's `file` + `fileOutputs` accepted as one output.
    composite = steps["startRoomCompositeEgress"]
    print(f"\nstartRoomCompositeEgress -> {composite}")
    assert not composite.get("error"), composite
    assert composite["egressId"].startswith("EG_") and composite["status"] in ("EGRESS_STARTING", "EGRESS_ACTIVE")
    assert composite["request"] == "roomComposite" and composite["info"]["roomComposite"]["layout"] == "grid"
    for name, kind in [("startParticipantEgress", "participant"), ("startTrackCompositeEgress", "trackComposite"),
                       ("startTrackEgress", "track")]:
        assert not steps[name].get("error") and steps[name]["request"] == kind, steps[name]
        assert steps[name]["roomName"] == room

    # What Sluice does not do answers `unimplemented`; bad input is a 400 naming both outputs.
    for name in ("startTrackEgressWebsocket", "startWebEgress"):
        assert refused(steps[name], 501, "unimplemented"), (name, steps[name])
    # UpdateStream through the SDK: the composite now lists the added URL (key redacted), ACTIVE
    # until its connection attempts fail.
    updated = steps["updateStream"]
    print(f"updateStream -> {updated.get('status')} {updated.get('info', {}).get('streamResults')}")
    assert not updated.get("error") and updated["egressId"] == composite["egressId"], updated
    [added] = updated["info"]["streamResults"]
    # (protobuf JSON leaves out the default enum value: no "status" is ACTIVE)
    assert added["url"] == "rtmp://127.0.0.1:1/live/{...}" and added.get("status", "ACTIVE") in ("ACTIVE", "FAILED"), added
    # The SDK's StreamOutput is read: a room composite streaming only to a port nobody listens on
    # starts and fails at once, its one stream FAILED with the reason and its key redacted.
    stream = steps["startRoomCompositeEgressStream"]
    print(f"stream-only composite to a closed port -> {stream['status']} {stream['info'].get('streamResults')}")
    assert not stream.get("error") and stream["status"] == "EGRESS_FAILED", stream
    [stream_result] = stream["info"]["streamResults"]
    assert stream_result["url"] == "rtmp://127.0.0.1:1/live/{k...y}" and stream_result["status"] == "FAILED", stream_result
    assert "cannot connect" in stream_result["error"] and "cannot connect" in stream["info"]["error"], stream
    assert refused(steps["startRoomCompositeEgressUnknownRoom"], 404, "not_found")
    assert refused(steps["updateStreamUnknownEgress"], 404, "not_found")
    conflict = steps["startRoomCompositeEgressConflict"]
    print(f"conflict -> {conflict['message']}")
    assert refused(conflict, 400, "invalid_argument") and "a.mp4" in conflict["message"] and "b.ogg" in conflict["message"]

    ids = [steps[n]["egressId"] for n in ("startRoomCompositeEgress", "startParticipantEgress",
                                          "startTrackCompositeEgress", "startTrackEgress")]
    assert sorted(i for i, _ in steps["listEgressByRoom"]["items"]) == sorted(ids + [stream["egressId"]])
    assert steps["listEgressById"]["items"] == [[composite["egressId"], "EGRESS_ACTIVE"]]
    assert sorted(i for i, s in steps["listEgressActive"]["items"]) == sorted(ids), steps["listEgressActive"]
    assert steps["listEgressByRoomString"]["count"] == 5
    assert steps["updateLayout"]["info"]["roomComposite"]["layout"] == "speaker"
    unknown_layout = steps["updateLayoutUnknown"]
    assert unknown_layout["status"] == "EGRESS_ACTIVE" and unknown_layout["info"]["roomComposite"]["layout"] == "mosaic"
    assert refused(steps["stopUnknownEgress"], 404, "not_found")
    assert steps["listEgressActiveAfter"]["count"] == 0

    # Route 3: stop -> COMPLETE with the file result; every file read back by ffprobe.
    ended = {e["egressId"]: e for e in steps["ended"]}
    expected = {ids[0]: (["aac", "h264"], "recordings/sale/"), ids[1]: (["h264", "opus"], "participant/sale-host.mp4"),
                ids[2]: (["h264", "opus"], "track-composite/sale.mp4"), ids[3]: (["opus"], "track/sale-mic.ogg")}
    for egress_id, (codecs_wanted, path_part) in expected.items():
        info = ended[egress_id]["info"]
        assert ended[egress_id]["status"] == "EGRESS_COMPLETE", ended[egress_id]
        result = info["fileResults"][0]
        path = result["filename"]
        assert path_part in path and os.path.exists(path), (path_part, path)
        codecs, probed = probe(path)
        duration = float(probed["format"].get("duration") or media_end(path))
        kind = next(k for k in ("roomComposite", "participant", "trackComposite", "track") if k in info)
        print(f"{kind}: "
              f"{os.path.relpath(path, workdir)} {codecs} {duration:.2f} s, {result['size']} bytes "
              f"(EgressInfo: duration {int(result['duration']) / 1e9:.2f} s, started {result['startedAt']})")
        assert codecs == codecs_wanted, (path, codecs)
        assert RECORD_SECONDS - 2 < duration < wall + 1, (path, duration, wall)
        assert int(result["size"]) == os.path.getsize(path)
        if egress_id == ids[0]:
            errors = decode_errors(path)
            assert errors == "", errors
            # The URL UpdateStream added was retried (until its retries ran out or the egress
            # stopped), then FAILED; the file was not disturbed.
            [dead] = info["streamResults"]
            print(f"added stream at the end: {dead}")
            assert dead["status"] == "FAILED" and dead.get("retries", 0) >= 1 and "cannot connect" in dead["error"], dead

    # Webhooks: every kind Sluice sends, each verified by the SDK's WebhookReceiver; a body changed
    # in transit, or a receiver with another secret, refuses it.
    hooks = receiver.webhooks()
    kinds = sorted({h.get("event") for h in hooks})
    print(f"webhooks: {len(hooks)} received, kinds {kinds}; tampered body -> {hooks[0].get('tamperedRejected')!r}")
    assert all(h["verified"] for h in hooks), [h for h in hooks if not h["verified"]]
    assert all(h["contentType"] == "application/webhook+json" and h["path"] == "/livekit/webhook" for h in hooks)
    assert all("sha256" in h.get("tamperedRejected", "") for h in hooks), [h for h in hooks if "tamperedRejected" not in h]
    assert all(h.get("wrongSecretRejected") for h in hooks)
    assert {"room_started", "participant_joined", "track_published", "track_unpublished", "egress_started",
            "egress_updated", "egress_ended", "participant_left", "room_finished"} <= set(kinds), kinds
    by_kind = {}
    for h in hooks:
        by_kind.setdefault(h["event"], []).append(h)
    assert {h["track"]["sid"] for h in by_kind["track_published"]} == {camera_sid, mic_sid}
    assert [h["track"]["sid"] for h in by_kind["track_unpublished"]][0] == camera_sid
    assert {h["egress"]["egressId"] for h in by_kind["egress_ended"]} == set(ids) | {stream["egressId"]}
    assert all(h["egress"]["status"] == "EGRESS_COMPLETE" and h["egress"]["files"] for h in by_kind["egress_ended"]
               if h["egress"]["egressId"] in ids)
    assert {h["participant"]["identity"] for h in by_kind["participant_joined"]} == {"host", "audience"}
    assert all(h["room"]["name"] == room for h in hooks if h.get("room"))


def wait_for_sync(predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
