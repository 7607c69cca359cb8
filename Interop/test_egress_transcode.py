"""Recording egress that transcodes: a VP8 publisher recorded to MP4 (video encoded to H.264,
Opus copied) and Opus recorded to MP3, driven by LiveKit's server SDK (`livekit-api`) while the
real-time SDK (`livekit`) publishes a test pattern and a tone. ffprobe and a full ffmpeg decode
judge the files; each file's length is compared with the wall-clock time it covered (from the
Start reply to the moment the publisher stopped sending)."""
import asyncio
import subprocess
import time

from livekit import api, rtc

from lk_rtc import Tone, VideoPattern, connect, publish_audio
from test_egress import (EGRESS_ACTIVE, EGRESS_COMPLETE, egress_status, lkapi, probe, publish_camera, report, run,
                         wait_for_async)

# Not 320x240 like the other egress tests: a size of its own shows the publisher's is kept.
WIDTH, HEIGHT = 480, 272


def decode_errors(path):
    """What `ffmpeg -v error -i FILE -f null -` prints: nothing for a good file. (test_egress.py's
    helper forgives the null muxer's complaint about variable-frame-rate copies; transcoded video
    is constant frame rate, so no such allowance is needed here.)"""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, text=True)
    return (out.stdout + out.stderr).strip()


async def record(server, room_name, start_egress):
    """Publishes 10 s of VP8 + Opus as alice, starts an egress 1.5 s in (past the start-up
    keyframes), stops it when the publisher stops; returns the final EgressInfo and the wall time."""
    lk = lkapi(server)
    alice = await connect(server, "alice", room_name)
    pattern, tone = VideoPattern(WIDTH, HEIGHT, (200, 120, 40), fps=20), Tone()
    video = await publish_camera(alice, pattern, rtc.VideoCodec.VP8)
    audio = await publish_audio(alice, tone)
    sending = asyncio.gather(pattern.run(10), tone.run(10))
    await asyncio.sleep(1.5)
    e = await start_egress(lk, video, audio)
    started = time.monotonic()
    assert e.status == api.EgressStatus.EGRESS_STARTING, e
    assert await wait_for_async(lambda: egress_status(lk, e.egress_id), lambda i: i.status == EGRESS_ACTIVE, 8), \
        await egress_status(lk, e.egress_id)
    await sending
    wall = time.monotonic() - started
    done = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=e.egress_id))
    await alice.disconnect()
    await lk.aclose()
    return done, wall


def judge(label, info, wall):
    """Prints and returns the measured figures of a finished egress's file."""
    assert info.status == EGRESS_COMPLETE, info
    result = info.file_results[0]
    codecs, probed = probe(result.filename)
    duration = float(probed["format"]["duration"])
    report(label, result.filename, wall)
    errors = decode_errors(result.filename)
    streams = [(s["codec_name"], s.get("width"), s.get("height"), s.get("r_frame_rate") if "width" in s else s.get("sample_rate"),
                s.get("start_time"), s.get("duration")) for s in probed["streams"]]
    print(f"{label}: streams (codec, w, h, fps or rate, start, duration) {streams}; "
          f"EgressInfo says {result.duration / 1e9:.2f} s, {result.size} bytes; ffmpeg -v error says {errors!r}")
    assert result.size == len(open(result.filename, "rb").read())
    return codecs, probed, duration, errors


def test_vp8_participant_egress_to_mp4_is_transcoded_to_h264(server):
    async def start(lk, video, audio):
        return await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="transcode", identity="alice",
            file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.MP4, filepath="{room_name}/{publisher_identity}")]))

    info, wall = run(record(server, "transcode", start))
    assert info.file_results[0].filename.endswith("/transcode/alice.mp4"), info
    codecs, probed, duration, errors = judge("VP8->H.264 + Opus participant egress (MP4)", info, wall)
    video = next(s for s in probed["streams"] if s["codec_type"] == "video")
    assert codecs == ["h264", "opus"], codecs
    assert (video["width"], video["height"]) == (WIDTH, HEIGHT), video
    assert video["r_frame_rate"] == "30/1", video
    assert abs(duration - wall) < 0.5, (duration, wall)
    assert errors == "", errors


def test_track_composite_egress_to_mp3_is_audio_only(server):
    async def start(lk, video, audio):
        # Both tracks named: MP3 is audio only, so the video is left out (as LiveKit does).
        return await lk.egress.start_track_composite_egress(api.TrackCompositeEgressRequest(
            room_name="radio", video_track_id=video.sid, audio_track_id=audio.sid,
            file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.MP3, filepath="{room_name}/show")]))

    info, wall = run(record(server, "radio", start))
    assert info.file_results[0].filename.endswith("/radio/show.mp3"), info
    codecs, probed, duration, errors = judge("Opus->MP3 track composite egress", info, wall)
    assert codecs == ["mp3"], codecs
    assert probed["streams"][0]["sample_rate"] == "48000"
    assert abs(duration - wall) < 0.5, (duration, wall)
    assert errors == "", errors


def test_participant_egress_with_aac_asked_for(server):
    """advanced.audio_codec = AAC turns the copied Opus into AAC; the VP8 video is transcoded as above."""
    async def start(lk, video, audio):
        return await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="aac", identity="alice", advanced=api.EncodingOptions(audio_codec=api.AudioCodec.AAC),
            file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.MP4, filepath="{room_name}/{publisher_identity}")]))

    info, wall = run(record(server, "aac", start))
    codecs, probed, duration, errors = judge("VP8->H.264 + Opus->AAC participant egress (MP4)", info, wall)
    assert codecs == ["aac", "h264"], codecs
    assert abs(duration - wall) < 0.5, (duration, wall)
    assert errors == "", errors
