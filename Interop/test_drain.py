"""Graceful drain (#19): with `shutdown.drain_timeout` set, SIGTERM stops admissions (new `/rtc`
joins, WHIP/WHEP sessions and CreateRoom get a 503 with the reason), lets the live room and its recording finish, and
exits 0 when the room is empty, or when the drain timeout passes (remaining clients told
SERVER_SHUTDOWN). A second SIGTERM ends the drain at once."""
import asyncio
import os
import signal
import time
import urllib.error
import urllib.request

from livekit import api, rtc

from conftest import SluiceServer, free_port
from lk_rtc import Tone, VideoPattern, Viewer, connect, publish_audio, token, wait_for
from test_egress import EGRESS_ACTIVE, EGRESS_COMPLETE, decode_errors, egress_status, lkapi, probe, publish_camera, wait_for_async


def validate(server, identity, room):
    """`/rtc/validate` for a new participant: (status, body)."""
    url = f"{server.http_url}/rtc/validate?access_token={token(identity, room)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def whip_post(server, path, bearer):
    """A WHIP/WHEP POST (the body is never read by a draining server): (status, body)."""
    request = urllib.request.Request(f"{server.http_url}{path}", data=b"v=0\r\n", method="POST",
                                     headers={"Authorization": "Bearer " + bearer, "Content-Type": "application/sdp"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def exit_within(server, seconds):
    """Waits for the process to end; returns (exit code, seconds waited) or (None, seconds)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if server.proc.poll() is not None:
            return server.proc.returncode, time.monotonic() - start
        await asyncio.sleep(0.05)
    return None, time.monotonic() - start


def test_sigterm_refuses_new_joins_lets_the_recording_finish_and_exits_when_the_room_empties(workdir):
    metrics_port = free_port()
    server = SluiceServer(workdir, extra_config=f"shutdown:\n  drain_timeout: 30\nprometheus_port: {metrics_port}\n").start()

    def draining_gauge():
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            line = next(l for l in r.read().decode().splitlines() if l.startswith("sluice_draining "))
        return float(line.split()[1])

    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "live")
        pattern, tone = VideoPattern(320, 240, (40, 160, 40), fps=20), Tone()
        video = await publish_camera(host, pattern, rtc.VideoCodec.VP8)
        await publish_audio(host, tone)
        viewer = Viewer(rtc.Room())
        await asyncio.wait_for(viewer.room.connect(server.ws_url, token("viewer", "live", can_publish=False)), 20)
        sending = asyncio.ensure_future(asyncio.gather(pattern.run(6), tone.run(6)))
        await asyncio.sleep(1.5)  # past the publisher's start-up keyframes
        egress = await lk.egress.start_track_egress(api.TrackEgressRequest(
            room_name="live", track_id=video.sid, file=api.DirectFileOutput(filepath="drain/{track_id}")))
        assert await wait_for_async(lambda: egress_status(lk, egress.egress_id), lambda e: e.status == EGRESS_ACTIVE, 5)
        assert validate(server, "early", "live")[0] == 200  # admissions are open before the signal
        gauge_before = draining_gauge()

        server.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        refused_join = validate(server, "latecomer", "live")
        gauge_during = draining_gauge()
        refused_room = validate(server, "elsewhere", "another-room")
        # The other doors refuse too: an encoder going live (WHIP) and a player of the live host (WHEP).
        refused_whip = whip_post(server, "/whip/live", token("encoder", "live", can_publish=True))
        refused_whep = whip_post(server, "/whep/live/host", token("player", "live", can_subscribe=True))
        try:
            await lk.room.create_room(api.CreateRoomRequest(name="new-room"))
            refused_create = None
        except api.TwirpError as e:
            refused_create = (e.status, e.code, e.message)
        frames_before = viewer.frames["camera"]
        await sending  # the live room goes on during the drain
        frames_during = viewer.frames["camera"] - frames_before
        still_running = server.proc.poll() is None
        await viewer.close()
        await host.disconnect()  # the room empties: the recording ends, then the server
        left_at = time.monotonic()
        code, waited = await exit_within(server, 15)
        await lk.aclose()
        return (egress.egress_id, refused_join, refused_room, refused_create, frames_during, still_running, code, waited,
                (gauge_before, gauge_during), (refused_whip, refused_whep))

    try:
        (egress_id, refused_join, refused_room, refused_create, frames_during, still_running, code, waited,
         gauges, (refused_whip, refused_whep)) = asyncio.run(go())
    finally:
        alive = server.alive()
        server.stop()
    log = open(server.log_path, errors="replace").read()
    print(f"\nduring the drain: /rtc/validate {refused_join}, new room {refused_room}, CreateRoom {refused_create}; "
          f"viewer decoded {frames_during} camera frames; exit code {code} {waited:.2f} s after the room emptied")
    print(f"WHIP {refused_whip}, WHEP {refused_whep}")
    assert gauges == (0, 1), gauges  # sluice_draining before and during the drain
    assert refused_whip[0] == 503 and "server is draining" in refused_whip[1], refused_whip
    assert refused_whep[0] == 503 and "server is draining" in refused_whep[1], refused_whep
    assert refused_join[0] == 503 and "server is draining" in refused_join[1], refused_join
    assert refused_room[0] == 503 and "server is draining" in refused_room[1], refused_room
    assert refused_create is not None and refused_create[0] == 503 and "draining" in refused_create[2], refused_create
    assert frames_during > 40, frames_during  # ~4.5 s of 20 fps kept flowing after SIGTERM
    assert still_running
    assert not alive and code == 0 and waited < 10, (code, waited, log[-3000:])
    assert "draining" in log and "drained: no participants left" in log

    # The recording is a complete file, and a restart's ListEgress says COMPLETE.
    server = SluiceServer(workdir).start()

    async def after():
        lk = lkapi(server)
        info = await egress_status(lk, egress_id)
        await lk.aclose()
        return info
    try:
        info = asyncio.run(after())
    finally:
        server.stop()
    path = info.file_results[0].filename
    codecs, probed = probe(path)
    duration = float(probed["format"]["duration"])
    print(f"egress {api.EgressStatus.Name(info.status)}: {os.path.basename(path)} {codecs} {duration:.2f} s, "
          f"{os.path.getsize(path)} bytes")
    assert info.status == EGRESS_COMPLETE, info
    assert codecs == ["vp8"] and duration > 3.5, (codecs, duration)
    assert decode_errors(path) == ""


def test_drain_timeout_closes_a_room_that_stays_and_exits_in_time(workdir):
    server = SluiceServer(workdir, extra_config="shutdown:\n  drain_timeout: 5\n").start()

    async def go():
        stayer = await connect(server, "stayer", "forever")
        reasons = []
        stayer.on("disconnected", lambda reason: reasons.append(reason))
        server.proc.send_signal(signal.SIGTERM)
        code, waited = await exit_within(server, 10)
        await wait_for(lambda: reasons, 3)
        return code, waited, reasons

    try:
        code, waited, reasons = asyncio.run(go())
    finally:
        server.stop()
    print(f"\nexit code {code} {waited:.2f} s after SIGTERM; the client was told {reasons}")
    assert code == 0 and 4.9 <= waited < 6.0, (code, waited, server.read_log())
    assert reasons == [rtc.DisconnectReason.SERVER_SHUTDOWN], reasons


def test_a_second_sigterm_ends_the_drain_at_once_and_the_recording_is_still_complete(workdir):
    server = SluiceServer(workdir, extra_config="shutdown:\n  drain_timeout: 60\n").start()

    async def go():
        lk = lkapi(server)
        stayer = await connect(server, "stayer", "forever")
        pattern = VideoPattern(320, 240, (160, 40, 160), fps=20)
        video = await publish_camera(stayer, pattern, rtc.VideoCodec.VP8)
        sending = asyncio.ensure_future(pattern.run(5))
        await asyncio.sleep(1.5)
        egress = await lk.egress.start_track_egress(api.TrackEgressRequest(
            room_name="forever", track_id=video.sid, file=api.DirectFileOutput(filepath="second/{track_id}")))
        assert await wait_for_async(lambda: egress_status(lk, egress.egress_id), lambda e: e.status == EGRESS_ACTIVE, 5)
        await lk.aclose()
        await asyncio.sleep(1)
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(1)
        first_alive = server.proc.poll() is None
        server.proc.send_signal(signal.SIGTERM)
        code, waited = await exit_within(server, 10)
        sending.cancel()
        await stayer.disconnect()
        return egress.egress_id, first_alive, code, waited

    try:
        egress_id, first_alive, code, waited = asyncio.run(go())
    finally:
        server.stop()
    print(f"\nstill draining after the first SIGTERM: {first_alive}; exit code {code} {waited:.2f} s after the second")
    assert first_alive
    # "At once": the recording is closed and the group stopped; 2 s leaves room for a loaded CI machine.
    assert code == 0 and waited < 2.0, (code, waited, server.read_log())

    server = SluiceServer(workdir).start()

    async def after():
        lk = lkapi(server)
        info = await egress_status(lk, egress_id)
        await lk.aclose()
        return info
    try:
        info = asyncio.run(after())
    finally:
        server.stop()
    path = info.file_results[0].filename
    codecs, probed = probe(path)
    duration = float(probed["format"]["duration"])
    print(f"egress {api.EgressStatus.Name(info.status)}: {os.path.basename(path)} {codecs} {duration:.2f} s")
    assert info.status == EGRESS_COMPLETE, info
    assert codecs == ["vp8"] and duration > 1.5, (codecs, duration)
    assert decode_errors(path) == ""
