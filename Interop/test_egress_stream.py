"""Room composite egress to RTMP: a `livekit` SDK host publishes a camera and a tone,
`livekit-api` starts a room composite with a StreamOutput (protocol RTMP, two URLs: an ffmpeg
RTMP listener started here, and a port nobody listens on), then stops it. The listener's capture
must be H.264 + AAC, longer than 2 s, and decode silently; EgressInfo's stream_results must show
the reachable stream FINISHED and the other FAILED with its reason, keys redacted."""
import asyncio
import os
import subprocess
import time

from livekit import api, rtc

from conftest import free_port
from lk_rtc import Tone, VideoPattern, connect, publish_audio
from test_egress import (EGRESS_ACTIVE, EGRESS_COMPLETE, decode_errors, egress_status, lkapi, media_end, probe,
                         publish_camera, run, wait_for_async)


def start_receiver(port, out):
    """`ffmpeg -listen 1` taking one RTMP publisher into `out`; returns once it listens."""
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-listen", "1", "-timeout", "60",
                             "-i", f"rtmp://127.0.0.1:{port}/live/streamkey123", "-c", "copy", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if f":{port}" in subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout:
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("ffmpeg did not start listening")


def test_room_composite_streams_rtmp_and_an_unreachable_url_fails_alone(server, workdir):
    port, dead = free_port(), free_port()
    out = os.path.join(workdir, "received.flv")
    receiver = start_receiver(port, out)
    good_url = f"rtmp://127.0.0.1:{port}/live/streamkey123"
    dead_url = f"rtmp://127.0.0.1:{dead}/live/deadkey456"

    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "show")
        red, tone = VideoPattern(320, 240, (220, 30, 30), fps=20), Tone()
        await publish_camera(host, red, rtc.VideoCodec.VP8)
        await publish_audio(host, tone)
        sending = asyncio.gather(red.run(7), tone.run(7))
        await asyncio.sleep(1.0)
        info = await lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(
            room_name="show", layout="grid", preset=api.EncodingOptionsPreset.H264_720P_30,
            stream_outputs=[api.StreamOutput(protocol=api.StreamProtocol.RTMP, urls=[good_url, dead_url])]))
        active = await wait_for_async(lambda: egress_status(lk, info.egress_id), lambda e: e.status == EGRESS_ACTIVE, 10)
        # While it runs: the unreachable stream is already FAILED, the other still ACTIVE.
        running = await egress_status(lk, info.egress_id)
        await asyncio.sleep(4)
        stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
        listed = await egress_status(lk, info.egress_id)
        await sending
        await host.disconnect()
        await lk.aclose()
        return info, active, running, stopped, listed

    try:
        info, active, running, stopped, listed = run(go())
        receiver.wait(timeout=20)
    finally:
        if receiver.poll() is None:
            receiver.kill()
    print(f"\nstarted: status={api.EgressStatus.Name(info.status)} streams={[(s.url, s.status) for s in info.stream_results]}")
    print(f"stopped: status={api.EgressStatus.Name(stopped.status)} files={len(stopped.file_results)}")
    for s in stopped.stream_results:
        print(f"  stream {s.url} {api.StreamInfo.Status.Name(s.status)} duration={s.duration / 1e9:.2f} s error={s.error!r}")
    assert active, info
    print(f"while running: {[(s.url, api.StreamInfo.Status.Name(s.status), s.error) for s in running.stream_results]}")
    assert running.status == EGRESS_ACTIVE, running
    assert [s.status for s in running.stream_results] == [api.StreamInfo.Status.ACTIVE, api.StreamInfo.Status.FAILED]
    assert "cannot connect" in running.stream_results[1].error, running
    assert info.stream_results and all("streamkey123" not in s.url and "deadkey456" not in s.url
                                       for s in info.stream_results), info
    assert "streamkey123" not in str(info.room_composite), info.room_composite
    assert stopped.status == EGRESS_COMPLETE and not stopped.file_results, stopped
    good, bad = stopped.stream_results
    assert good.url == f"rtmp://127.0.0.1:{port}/live/{{str...123}}", good.url
    assert good.status == api.StreamInfo.Status.FINISHED and good.duration > 2e9 and good.started_at > 0, good
    assert bad.url == f"rtmp://127.0.0.1:{dead}/live/{{dea...456}}", bad.url
    assert bad.status == api.StreamInfo.Status.FAILED and "cannot connect" in bad.error, bad
    assert [s.status for s in listed.stream_results] == [s.status for s in stopped.stream_results], listed

    codecs, probed = probe(out)
    duration = float(probed["format"].get("duration", "nan"))
    print(f"receiver's capture: {probed['format']['format_name']} {codecs} duration {duration:.2f} s "
          f"(packets end {media_end(out):.2f} s), {probed['format']['size']} bytes")
    assert codecs == ["aac", "h264"], codecs
    assert duration > 2, duration
    errors = decode_errors(out)
    assert errors == "", errors


def test_room_composite_to_a_file_and_rtmp_from_one_encode(server, workdir):
    """Both outputs asked: one encode feeds the MP4 and the RTMP stream; both read back whole."""
    port = free_port()
    out = os.path.join(workdir, "both.flv")
    receiver = start_receiver(port, out)
    url = f"rtmp://127.0.0.1:{port}/live/streamkey123"

    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "both")
        red, tone = VideoPattern(320, 240, (220, 30, 30), fps=20), Tone()
        await publish_camera(host, red, rtc.VideoCodec.VP8)
        await publish_audio(host, tone)
        sending = asyncio.gather(red.run(7), tone.run(7))
        await asyncio.sleep(1.0)
        info = await lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(
            room_name="both", layout="speaker", preset=api.EncodingOptionsPreset.H264_720P_30,
            file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.MP4, filepath="{room_name}/both")],
            stream_outputs=[api.StreamOutput(protocol=api.StreamProtocol.RTMP, urls=[url])]))
        await wait_for_async(lambda: egress_status(lk, info.egress_id), lambda e: e.status == EGRESS_ACTIVE, 10)
        await asyncio.sleep(4)
        stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
        await sending
        await host.disconnect()
        await lk.aclose()
        return stopped

    try:
        stopped = run(go())
        receiver.wait(timeout=20)
    finally:
        if receiver.poll() is None:
            receiver.kill()
    assert stopped.status == EGRESS_COMPLETE, stopped
    [stream], [file] = stopped.stream_results, stopped.file_results
    print(f"\nstream {stream.url} {api.StreamInfo.Status.Name(stream.status)} {stream.duration / 1e9:.2f} s; "
          f"file {os.path.basename(file.filename)} {file.duration / 1e9:.2f} s {file.size} bytes")
    assert stream.status == api.StreamInfo.Status.FINISHED and stream.duration > 2e9, stream
    for path in (out, file.filename):
        codecs, probed = probe(path)
        duration = float(probed["format"].get("duration") or media_end(path))
        print(f"{os.path.basename(path)}: {probed['format']['format_name']} {codecs} {duration:.2f} s")
        assert codecs == ["aac", "h264"], (path, codecs)
        assert duration > 2, (path, duration)
        errors = decode_errors(path)
        assert errors == "", (path, errors)
