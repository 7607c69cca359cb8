"""Built-in recording egress, driven by LiveKit's server SDK (`livekit-api`) while the real-time
SDK (`livekit`) publishes a test pattern and a tone; the files are judged by ffprobe/ffmpeg.

Each recording's length is compared with the wall-clock time it covered: from the Start reply
to the moment the publisher stopped sending (or the server was killed)."""
import asyncio
import json
import os
import subprocess
import time

from livekit import api, rtc

from conftest import API_KEY, API_SECRET, SluiceServer
from lk_rtc import Tone, VideoPattern, connect, publish_audio, wait_for
from test_webhooks import Receiver

EGRESS_ACTIVE = api.EgressStatus.EGRESS_ACTIVE
EGRESS_COMPLETE = api.EgressStatus.EGRESS_COMPLETE
EGRESS_FAILED = api.EgressStatus.EGRESS_FAILED


def run(coro):
    return asyncio.run(coro)


def lkapi(server):
    return api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                         capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    return sorted(s["codec_name"] for s in info["streams"]), info


def media_end(path):
    """End of the last packet in seconds (works when the header has no duration, e.g. after a kill)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0",
                          path], capture_output=True, text=True)
    end = 0.0
    for line in out.stdout.split():
        parts = [p for p in line.split(",") if p not in ("", "N/A")]
        if parts:
            end = max(end, sum(float(p) for p in parts[:2]))
    return end


def decode_errors(path):
    """What `ffmpeg -v error -i FILE -f null -` prints (nothing for a good file).

    One message is not about the file: with a variable frame rate (the Python publisher's frames
    come 45-55 ms apart), ffmpeg rounds each frame's time to 1/r_frame_rate for the null muxer,
    and two frames can land on the same tick ("non monotonically increasing dts"). When that is
    all it says, decode again keeping the file's own time base, which must be silent."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, text=True)
    said = (out.stdout + out.stderr).strip()
    if said and all("non monotonically increasing dts" in line for line in said.splitlines()):
        print(f"\n{os.path.basename(path)}: ffmpeg's null muxer rounded two VFR frames together; "
              "decoding again with -enc_time_base -1")
        out = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-enc_time_base", "-1", "-f", "null", "-"],
                             capture_output=True, text=True)
        said = (out.stdout + out.stderr).strip()
    return said


def report(label, path, wall):
    codecs, info = probe(path)
    duration = float(info["format"].get("duration", "nan"))
    print(f"\n{label}: {os.path.basename(path)} {info['format']['format_name']} {codecs} "
          f"duration {duration:.2f} s (packets end {media_end(path):.2f} s) vs wall {wall:.2f} s, "
          f"{int(info['format']['size'])} bytes")
    return codecs, duration


async def publish_camera(room, pattern, codec):
    track = rtc.LocalVideoTrack.create_video_track("camera", pattern.source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA, simulcast=False, video_codec=codec)
    return await asyncio.wait_for(room.local_participant.publish_track(track, options), 15)


async def error_of(call):
    try:
        await call
    except Exception as e:  # livekit-api's ServerError
        return getattr(e, "status", None), getattr(e, "message", str(e))
    return None


async def egress_status(lk, egress_id):
    items = (await lk.egress.list_egress(api.ListEgressRequest(egress_id=egress_id))).items
    return items[0] if items else None


def test_track_egress_vp8_to_webm_and_opus_to_ogg_stop_when_the_room_empties(workdir):
    receiver = Receiver()
    server = SluiceServer(workdir, extra_config=f"webhook:\n  api_key: devkey\n  urls:\n    - http://127.0.0.1:{receiver.port}/hook\n").start()

    async def go():
        lk = lkapi(server)
        alice = await connect(server, "alice", "studio")
        pattern, tone = VideoPattern(320, 240, (200, 40, 40), fps=20), Tone()
        video = await publish_camera(alice, pattern, rtc.VideoCodec.VP8)
        audio = await publish_audio(alice, tone)
        sending = asyncio.gather(pattern.run(9.5), tone.run(9.5))
        await asyncio.sleep(1.5)  # past the publisher's start-up keyframes (see the H.264 test)
        v = await lk.egress.start_track_egress(api.TrackEgressRequest(
            room_name="studio", track_id=video.sid, file=api.DirectFileOutput(filepath="tracks/{track_id}")))
        a = await lk.egress.start_track_egress(api.TrackEgressRequest(
            room_name="studio", track_id=audio.sid, file=api.DirectFileOutput(filepath="tracks/{publisher_identity}-mic.ogg")))
        started = time.monotonic()
        assert v.status == api.EgressStatus.EGRESS_STARTING and v.egress_id.startswith("EG_"), v
        assert await wait_for_async(lambda: egress_status(lk, v.egress_id), lambda e: e.status == EGRESS_ACTIVE, 5)
        active = await lk.egress.list_egress(api.ListEgressRequest(room_name="studio", active=True))
        assert sorted(e.egress_id for e in active.items) == sorted([v.egress_id, a.egress_id])
        await sending
        wall = time.monotonic() - started
        await alice.disconnect()  # the room empties: both egresses end by themselves
        ok = await wait_for_async(lambda: lk.egress.list_egress(api.ListEgressRequest(room_name="studio")),
                                  lambda r: all(e.status == EGRESS_COMPLETE for e in r.items), 10)
        assert ok, await lk.egress.list_egress(api.ListEgressRequest(room_name="studio"))
        done = {e.egress_id: e for e in (await lk.egress.list_egress(api.ListEgressRequest(room_name="studio"))).items}
        await lk.aclose()
        return done, v.egress_id, a.egress_id, wall

    done, vid, aid, wall = run(go())
    vfile, afile = done[vid].file_results[0], done[aid].file_results[0]
    assert vfile.filename == os.path.join(workdir, "recordings", "tracks", done[vid].track.track_id + ".webm")
    assert afile.filename == os.path.join(workdir, "recordings", "tracks", "alice-mic.ogg")
    codecs, duration = report("VP8 track egress", vfile.filename, wall)
    assert codecs == ["vp8"] and abs(duration - wall) < 0.5, (codecs, duration, wall)
    assert abs(vfile.duration / 1e9 - duration) < 0.2 and vfile.size == os.path.getsize(vfile.filename)
    assert decode_errors(vfile.filename) == ""
    codecs, duration = report("Opus track egress", afile.filename, wall)
    assert codecs == ["opus"] and abs(duration - wall) < 0.5, (codecs, duration, wall)
    assert decode_errors(afile.filename) == ""

    # Webhooks, verified by livekit-api: each egress started, was updated (ACTIVE, ENDING), ended.
    time.sleep(0.5)
    verifier = api.WebhookReceiver(api.TokenVerifier(API_KEY, API_SECRET))
    hooks = {}
    while not receiver.got.empty():
        body, auth, _ = receiver.got.get()
        event = verifier.receive(body, auth)
        if event.event.startswith("egress_"):
            hooks.setdefault(event.egress_info.egress_id, []).append(
                (event.event, api.EgressStatus.Name(event.egress_info.status)))
    receiver.close()
    print(f"webhooks: {hooks}")
    for egress_id in (vid, aid):
        assert hooks[egress_id] == [("egress_started", "EGRESS_STARTING"), ("egress_updated", "EGRESS_ACTIVE"),
                                    ("egress_updated", "EGRESS_ENDING"), ("egress_ended", "EGRESS_COMPLETE")], hooks

    # After a restart, ListEgress still has both, COMPLETE with their file info.
    server.stop()
    server = SluiceServer(workdir).start()

    async def after():
        lk = lkapi(server)
        items = (await lk.egress.list_egress(api.ListEgressRequest(room_name="studio"))).items
        await lk.aclose()
        return {e.egress_id: e for e in items}
    again = run(after())
    server.stop()
    assert again[vid].status == EGRESS_COMPLETE and again[vid].file_results[0] == vfile
    assert again[aid].status == EGRESS_COMPLETE and again[aid].file_results[0] == afile
    print(f"after restart: {[(e.egress_id, api.EgressStatus.Name(e.status)) for e in again.values()]}")


def test_h264_participant_to_mp4_track_composite_and_bad_requests(server):
    async def go():
        lk = lkapi(server)
        alice = await connect(server, "alice", "talk")
        bob = await connect(server, "bob", "talk")
        cam_a, tone_a = VideoPattern(320, 240, (40, 200, 40), fps=20), Tone()
        cam_b, tone_b = VideoPattern(320, 240, (40, 40, 200), fps=20), Tone()
        h264 = await publish_camera(alice, cam_a, rtc.VideoCodec.H264)
        await publish_audio(alice, tone_a)
        vp8 = await publish_camera(bob, cam_b, rtc.VideoCodec.VP8)
        bob_mic = await publish_audio(bob, tone_b)
        sending = asyncio.gather(cam_a.run(8.5), tone_a.run(8.5), cam_b.run(8.5), tone_b.run(8.5))
        # Alice and Bob just subscribed to each other, and their keyframe requests hold the SFU's
        # per-track PLI throttle (500 ms): start recording once it is clear, so the recordings
        # begin with the first keyframe asked for, not the next one.
        await asyncio.sleep(1.5)

        # The video-only track egress starts first. Two recordings of one track started within
        # 300 ms share its first keyframe only if both are attached when it arrives; libwebrtc
        # ignores a second request inside 300 ms, so the later one waits ~0.4 s for the next
        # keyframe. The participant file loses nothing by that wait: its audio starts at once.
        t = await lk.egress.start_track_egress(api.TrackEgressRequest(
            room_name="talk", track_id=h264.sid, file=api.DirectFileOutput(filepath="{room_name}/alice-video")))
        p = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="talk", identity="alice",
            file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.MP4, filepath="{room_name}/{publisher_identity}")]))
        c = await lk.egress.start_track_composite_egress(api.TrackCompositeEgressRequest(
            room_name="talk", video_track_id=vp8.sid, audio_track_id=bob_mic.sid,
            file_outputs=[api.EncodedFileOutput(filepath="{room_name}/bob.webm")]))
        started = time.monotonic()

        # What cannot work is refused with a reason, and nothing is created for it.
        refusals = {
            # (VP8 to MP4 is no longer refused: it is transcoded, see test_egress_transcode.py.)
            "mp3 of a video track": await error_of(lk.egress.start_track_composite_egress(api.TrackCompositeEgressRequest(
                room_name="talk", video_track_id=vp8.sid, file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.MP3)]))),
            "unknown room": await error_of(lk.egress.start_track_egress(api.TrackEgressRequest(
                room_name="nowhere", track_id=h264.sid, file=api.DirectFileOutput(filepath="x")))),
            "unknown track": await error_of(lk.egress.start_track_egress(api.TrackEgressRequest(
                room_name="talk", track_id="TR_nope", file=api.DirectFileOutput(filepath="x")))),
            "unknown identity": await error_of(lk.egress.start_participant_egress(api.ParticipantEgressRequest(
                room_name="talk", identity="carol", file_outputs=[api.EncodedFileOutput()]))),
            "escaping path": await error_of(lk.egress.start_track_egress(api.TrackEgressRequest(
                room_name="talk", track_id=h264.sid, file=api.DirectFileOutput(filepath="../../escape.mp4")))),
            "web egress": await error_of(lk.egress.start_web_egress(api.WebEgressRequest(
                url="https://example.com", file_outputs=[api.EncodedFileOutput()]))),
        }
        for name, (status, message) in refusals.items():
            print(f"\n{name}: {status} {message}", end="")
        assert [s for s, _ in refusals.values()] == [400, 404, 404, 404, 400, 501], refusals
        assert "records audio" in refusals["mp3 of a video track"][1]

        await sending
        wall = time.monotonic() - started
        results = {}
        for e in (p, t, c):
            results[e.egress_id] = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=e.egress_id))
        listed = await lk.egress.list_egress(api.ListEgressRequest(room_name="talk"))
        assert len(listed.items) == 3, listed
        await alice.disconnect()
        await bob.disconnect()
        await lk.aclose()
        return [results[e.egress_id] for e in (p, t, c)], wall

    (p, t, c), wall = run(go())
    assert [e.status for e in (p, t, c)] == [EGRESS_COMPLETE] * 3, (p, t, c)
    assert p.file_results[0].filename.endswith("/talk/alice.mp4")
    assert t.file_results[0].filename.endswith("/talk/alice-video.mp4")
    assert c.file_results[0].filename.endswith("/talk/bob.webm")
    judged = [(report(label, e.file_results[0].filename, wall), decode_errors(e.file_results[0].filename))
              for label, e in [("H.264+Opus participant egress", p), ("H.264 track egress", t),
                               ("VP8+Opus track composite", c)]]
    for label, path in [("participant", p), ("track", t), ("composite", c)]:
        streams = probe(path.file_results[0].filename)[1]["streams"]
        print(f"{label} streams: {[(s['codec_name'], s.get('start_time'), s.get('duration')) for s in streams]}")
    assert [codecs for (codecs, _), _ in judged] == [["h264", "opus"], ["h264"], ["opus", "vp8"]], judged
    assert all(abs(duration - wall) < 0.5 for (_, duration), _ in judged), (judged, wall)
    assert [errors for _, errors in judged] == ["", "", ""], judged


def test_sigkill_mid_recording_leaves_a_playable_file_and_a_failed_egress(workdir):
    server = SluiceServer(workdir).start()

    async def go():
        lk = lkapi(server)
        alice = await connect(server, "alice", "crash")
        pattern, tone = VideoPattern(320, 240, (90, 90, 200), fps=20), Tone()
        await publish_camera(alice, pattern, rtc.VideoCodec.VP8)
        await publish_audio(alice, tone)
        sending = asyncio.ensure_future(asyncio.gather(pattern.run(20), tone.run(20), return_exceptions=True))
        await asyncio.sleep(0.5)
        # No file type and no extension: a VP8 participant records to WebM.
        e = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="crash", identity="alice", file_outputs=[api.EncodedFileOutput(filepath="crash/{publisher_identity}")]))
        started = time.monotonic()
        await asyncio.sleep(6)
        server.kill()
        wall = time.monotonic() - started
        sending.cancel()
        try:
            await asyncio.wait_for(alice.disconnect(), 5)
        except Exception:
            pass
        await lk.aclose()
        return e, wall

    e, wall = run(go())
    path = e.file_results[0].filename
    assert path.endswith("/crash/alice.webm"), path
    server = SluiceServer(workdir).start()

    async def after():
        lk = lkapi(server)
        info = await egress_status(lk, e.egress_id)
        active = (await lk.egress.list_egress(api.ListEgressRequest(active=True))).items
        await lk.aclose()
        return info, active
    info, active = run(after())
    server.stop()
    print(f"\nafter SIGKILL and restart: {api.EgressStatus.Name(info.status)} \"{info.error}\", "
          f"file {info.file_results[0].size} bytes")
    assert info.status == EGRESS_FAILED and info.error == "server restarted" and not active
    assert info.file_results[0].size == os.path.getsize(path) > 0
    codecs, _ = report("killed VP8+Opus participant egress", path, wall)
    end = media_end(path)
    errors = decode_errors(path)
    print(f"decoded up to {end:.2f} s of {wall:.2f} s; ffmpeg says: {errors!r}")
    assert codecs == ["opus", "vp8"] and end >= wall - 2, (codecs, end, wall)
    assert errors == ""


async def wait_for_async(fetch, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await fetch()
        if value is not None and predicate(value):
            return True
        await asyncio.sleep(0.2)
    return False
