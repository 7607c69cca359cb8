"""The admin CLI (`sluice room|participant|egress ...`, issue #19) against a live server.

Every subcommand runs as a subprocess of $SLUICE_BIN; what it prints is checked against what
LiveKit's own server SDK (`livekit-api`) sees, while the real-time SDK (`livekit`) is in the room."""
import asyncio
import json
import os
import subprocess

from livekit import api, rtc

from conftest import API_KEY, API_SECRET, SluiceServer, free_port, sluice_binary
from lk_rtc import Tone, VideoPattern, connect, publish_audio, wait_for
from test_egress import lkapi, publish_camera


async def cli(server, *args, env_creds=False, url=None):
    """Runs `sluice ARGS` without blocking the event loop (the publishers keep sending meanwhile).
    Credentials come from flags, or from lk's environment variables with env_creds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    target = url or server.http_url
    if env_creds:
        env.update(LIVEKIT_URL=target, LIVEKIT_API_KEY=API_KEY, LIVEKIT_API_SECRET=API_SECRET)
        creds = []
    else:
        creds = ["--url", target, "--api-key", API_KEY, "--api-secret", API_SECRET]
    proc = await asyncio.create_subprocess_exec(sluice_binary(), *args, *creds, env=env,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    print(f"$ sluice {' '.join(args)}  -> {proc.returncode}\n{out.decode()}{err.decode()}")
    return proc.returncode, out.decode(), err.decode()


def rows(table):
    """A table's data rows as lists of cells (cells hold no spaces in these tests)."""
    lines = table.strip().splitlines()
    return [line.split() for line in lines[1:]]


def test_room_and_participant_subcommands_match_livekit_api(server):
    async def go():
        lk = lkapi(server)
        rc, out, err = await cli(server, "room", "create", "cli-room", "--empty-timeout", "120",
                                 "--max-participants", "5", "--metadata", "hello")
        assert rc == 0 and err == "", err
        listed = {r.name: r for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms}
        room = listed["cli-room"]
        assert room.max_participants == 5 and room.metadata == "hello" and room.empty_timeout == 120, room
        assert rows(out)[0][:2] == ["cli-room", room.sid], out

        alice = await connect(server, "alice", "cli-room")
        bob = await connect(server, "bob", "cli-room")
        tone = Tone()
        sending = asyncio.ensure_future(tone.run(30))
        mic = await publish_audio(alice, tone)
        # The table's columns are the room's: name, sid, participants, publishers, created.
        for _ in range(50):
            rc, out, err = await cli(server, "room", "list", env_creds=True)
            if ["cli-room", room.sid, "2", "1"] == rows(out)[0][:4]:
                break
            await asyncio.sleep(0.1)
        assert rc == 0 and out.splitlines()[0].split() == ["NAME", "SID", "PARTICIPANTS", "PUBLISHERS", "CREATED"], out
        assert rows(out)[0][:4] == ["cli-room", room.sid, "2", "1"], out
        rc, out, err = await cli(server, "room", "list", "--json")
        assert rc == 0 and [r["name"] for r in json.loads(out)["rooms"]] == \
            [r.name for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms], out

        people = {p.identity: p for p in (await lk.room.list_participants(
            api.ListParticipantsRequest(room="cli-room"))).participants}
        rc, out, err = await cli(server, "participant", "list", "--room", "cli-room")
        assert rc == 0, err
        table = {r[0]: r for r in rows(out)}
        assert sorted(table) == ["alice", "bob"] and table["alice"][1] == people["alice"].sid, out
        assert table["alice"][3] == f"{mic.sid}(audio)" and table["bob"][3] == "-", out
        rc, out, err = await cli(server, "participant", "list", "--room", "cli-room", "--json")
        assert sorted(p["sid"] for p in json.loads(out)["participants"]) == sorted(p.sid for p in people.values())

        rc, out, err = await cli(server, "participant", "remove", "--room", "cli-room", "--identity", "bob")
        assert rc == 0 and err == "", err
        left = (await lk.room.list_participants(api.ListParticipantsRequest(room="cli-room"))).participants
        assert [p.identity for p in left] == ["alice"], left
        assert await wait_for(lambda: bob.connection_state == rtc.ConnectionState.CONN_DISCONNECTED, 5)

        rc, out, err = await cli(server, "room", "delete", "cli-room")
        assert rc == 0 and err == "", err
        assert "cli-room" not in [r.name for r in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms]
        # Deleting again: the server's Twirp error, one line, exit 1.
        rc, out, err = await cli(server, "room", "delete", "cli-room")
        assert rc == 1 and err.startswith("error: not_found: ") and err.count("\n") == 1 and out == "", err
        sending.cancel()
        await alice.disconnect()
        await lk.aclose()

    asyncio.run(go())


def test_egress_start_list_stop_makes_an_mp4_a_webm_and_an_ogg(server, workdir):
    async def go():
        lk = lkapi(server)
        alice = await connect(server, "alice", "studio")
        pattern, tone = VideoPattern(320, 240, (200, 40, 40), fps=20), Tone()
        await publish_camera(alice, pattern, rtc.VideoCodec.VP8)
        mic = await publish_audio(alice, tone)
        sending = asyncio.gather(pattern.run(20), tone.run(20))
        await asyncio.sleep(1.0)

        rc, out, err = await cli(server, "egress", "start", "--room", "studio", "--file", "cli/{room_name}.mp4",
                                 "--layout", "grid", "--json")
        assert rc == 0, err
        started = json.loads(out)
        egress_id = started["egress_id"]
        assert egress_id.startswith("EG_") and started["room_name"] == "studio", started

        # The other two kinds, read from the table this time: the file column is where it goes.
        rc, out, err = await cli(server, "egress", "start", "--room", "studio", "--type", "participant",
                                 "--identity", "alice", "--file", "cli/alice.webm")
        assert rc == 0 and rows(out)[0][-1] == os.path.join(workdir, "recordings", "cli", "alice.webm"), out
        participant_id = rows(out)[0][0]
        rc, out, err = await cli(server, "egress", "start", "--room", "studio", "--type", "track",
                                 "--track", mic.sid, "--file", "cli/mic.ogg")
        assert rc == 0, err
        track_id = rows(out)[0][0]
        ids = sorted([egress_id, participant_id, track_id])

        async def active():
            items = (await lk.egress.list_egress(api.ListEgressRequest(room_name="studio"))).items
            return sorted(e.egress_id for e in items if e.status == api.EgressStatus.EGRESS_ACTIVE) == ids
        for _ in range(50):
            if await active():
                break
            await asyncio.sleep(0.1)
        rc, out, err = await cli(server, "egress", "list", "--room", "studio", "--active")
        assert rc == 0 and out.splitlines()[0].split()[:3] == ["EGRESS", "ID", "ROOM"], out
        assert sorted(r[:3] for r in rows(out)) == [[i, "studio", "EGRESS_ACTIVE"] for i in ids], out
        # A bad request is the server's error, one line (no such track).
        rc, out, err = await cli(server, "egress", "start", "--room", "studio", "--type", "track", "--track", "TR_nope")
        assert rc == 1 and err.startswith("error: not_found: ") and err.count("\n") == 1, err
        rc, out, err = await cli(server, "egress", "list", "--room", "nowhere", "--json")
        assert rc == 0 and json.loads(out).get("items", []) == [], out

        await asyncio.sleep(3)
        rc, out, err = await cli(server, "egress", "stop", egress_id, "--timeout", "30")
        # Progress on stderr, the finished egress on stdout.
        progress = err.splitlines()
        assert rc == 0 and progress[0].startswith(f"{egress_id}: ") and progress[-1] == f"{egress_id}: EGRESS_COMPLETE", err
        path = os.path.join(workdir, "recordings", "cli", "studio.mp4")
        assert rows(out)[0][:3] == [egress_id, "studio", "EGRESS_COMPLETE"] and rows(out)[0][-1] == path, out
        done = (await lk.egress.list_egress(api.ListEgressRequest(egress_id=egress_id))).items[0]
        assert done.status == api.EgressStatus.EGRESS_COMPLETE and done.file_results[0].filename == path, done
        # Stopping a finished egress is the server's error, one line.
        rc, out, err = await cli(server, "egress", "stop", egress_id)
        assert rc == 1 and err.startswith("error: ") and err.count("\n") == 1, err
        for other in (participant_id, track_id):
            rc, out, err = await cli(server, "egress", "stop", other, "--json")
            assert rc == 0 and json.loads(out)["status"] == "EGRESS_COMPLETE", out
        rc, out, err = await cli(server, "egress", "list", "--room", "studio", "--json")
        assert sorted((e["egress_id"], e["status"]) for e in json.loads(out)["items"]) == \
            [(i, "EGRESS_COMPLETE") for i in ids], out
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await alice.disconnect()
        await lk.aclose()
        return path

    path = asyncio.run(go())
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                           capture_output=True, text=True, check=True)
    info = json.loads(probe.stdout)
    codecs = sorted(s["codec_name"] for s in info["streams"])
    print(f"{path}: {codecs} {info['format'].get('duration')} s")
    assert codecs == ["aac", "h264"] and float(info["format"]["duration"]) > 2.5, info
    for name, expected in (("alice.webm", ["opus", "vp8"]), ("mic.ogg", ["opus"])):
        other = os.path.join(workdir, "recordings", "cli", name)
        streams = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", other],
                                            capture_output=True, text=True, check=True).stdout)["streams"]
        assert sorted(s["codec_name"] for s in streams) == expected, (name, streams)


def test_bad_credentials_and_no_server_are_one_line_and_exit_1(server):
    async def go():
        proc = await asyncio.create_subprocess_exec(
            sluice_binary(), "room", "list", "--url", server.http_url, "--api-key", API_KEY, "--api-secret", "wrong",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 1 and out == b"", (proc.returncode, out)
        lines = err.decode().splitlines()
        print(f"bad secret -> {proc.returncode}: {err.decode()!r}")
        assert len(lines) == 1 and lines[0].startswith("error: unauthenticated: "), err

        rc, out, err = await cli(server, "room", "list", url=f"http://127.0.0.1:{free_port()}")
        assert rc == 1 and out == "" and len(err.splitlines()) == 1 and err.startswith("error: cannot reach "), err
    asyncio.run(go())


def test_egress_stop_shows_progress_while_an_upload_retries_then_fails(workdir):
    # A recording's upload to storage that refuses connections: StopEgress answers ENDING, the
    # server retries (0.5 + 1 + 2 s of backoff) and then marks it FAILED. `egress stop` must show
    # both statuses as they come and exit 1; with a shorter --timeout it gives up with one line.
    dead = free_port()
    server = SluiceServer(workdir, recordings_config=(
        "  s3:\n    access_key: AK\n    secret: SK\n    region: us-east-1\n"
        f"    endpoint: http://127.0.0.1:{dead}\n    bucket: b\n    force_path_style: true\n"
        "    max_retries: 3\n")).start()
    try:
        async def go():
            alice = await connect(server, "alice", "up")
            tone = Tone()
            mic = await publish_audio(alice, tone)
            sending = asyncio.ensure_future(tone.run(30))
            await asyncio.sleep(1)
            ids = []
            for name in ("one.ogg", "two.ogg"):
                rc, out, err = await cli(server, "egress", "start", "--room", "up", "--type", "track",
                                         "--track", mic.sid, "--file", name, "--json")
                assert rc == 0, err
                ids.append(json.loads(out)["egress_id"])
            await asyncio.sleep(2)

            rc, out, err = await cli(server, "egress", "stop", ids[0], "--timeout", "30")
            lines = err.splitlines()
            assert rc == 1 and lines[:2] == [f"{ids[0]}: EGRESS_ENDING", f"{ids[0]}: EGRESS_FAILED"], err
            assert len(lines) == 3 and lines[2].startswith("error: EGRESS_FAILED: "), err
            assert rows(out)[0][:3] == [ids[0], "up", "EGRESS_FAILED"], out

            rc, out, err = await cli(server, "egress", "stop", ids[1], "--timeout", "1")
            lines = err.splitlines()
            assert rc == 1 and lines[0] == f"{ids[1]}: EGRESS_ENDING" and out == "", err
            assert lines[-1] == f"error: timeout: {ids[1]} still EGRESS_ENDING after 1 s", err
            sending.cancel()
            await alice.disconnect()
        asyncio.run(go())
    finally:
        alive = server.alive()
        server.stop()
        assert alive, server.read_log()
