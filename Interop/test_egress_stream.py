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
        # While it runs: the unreachable stream turns FAILED once its retries (0.25 + 0.5 + 1 s
        # apart) are spent, the other stays ACTIVE.
        await wait_for_async(lambda: egress_status(lk, info.egress_id),
                             lambda e: e.stream_results[1].status == api.StreamInfo.Status.FAILED, 10)
        running = await egress_status(lk, info.egress_id)
        await asyncio.sleep(2)
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
    assert bad.retries == 3 and bad.last_retry_at > 0, bad
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


SMALL = api.EncodingOptions(width=640, height=360, framerate=20, video_bitrate=800, audio_bitrate=64)


def stream_states(info):
    return [(s.url, api.StreamInfo.Status.Name(s.status), s.retries, s.error) for s in info.stream_results]


def test_update_stream_adds_and_removes_urls_and_a_dropped_listener_fails_alone(server, workdir):
    """UpdateStream on a running room composite: B and C are added (each starts at a keyframe),
    C is removed (FINISHED, its capture whole), A's listener is killed: A is retried, then
    FAILED, while B goes on to the end."""
    ports = {name: free_port() for name in "ABC"}
    outs = {name: os.path.join(workdir, f"{name}.flv") for name in "ABC"}
    urls = {name: f"rtmp://127.0.0.1:{ports[name]}/live/streamkey123" for name in "ABC"}
    receivers = {"A": start_receiver(ports["A"], outs["A"])}

    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "live")
        cam, tone = VideoPattern(320, 240, (220, 30, 30), fps=20), Tone()
        await publish_camera(host, cam, rtc.VideoCodec.VP8)
        await publish_audio(host, tone)
        sending = asyncio.gather(cam.run(13), tone.run(13))
        await asyncio.sleep(1.0)
        info = await lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(
            room_name="live", layout="grid", advanced=SMALL,
            stream_outputs=[api.StreamOutput(protocol=api.StreamProtocol.RTMP, urls=[urls["A"]])]))
        await wait_for_async(lambda: egress_status(lk, info.egress_id), lambda e: e.status == EGRESS_ACTIVE, 10)
        await asyncio.sleep(1.0)
        receivers["B"] = start_receiver(ports["B"], outs["B"])
        receivers["C"] = start_receiver(ports["C"], outs["C"])
        added = await lk.egress.update_stream(api.UpdateStreamRequest(
            egress_id=info.egress_id, add_output_urls=[urls["B"], urls["C"]]))
        await asyncio.sleep(3.0)
        removed = await lk.egress.update_stream(api.UpdateStreamRequest(
            egress_id=info.egress_id, remove_output_urls=[urls["C"]]))
        receivers["A"].kill()
        killed_at = time.monotonic()
        failed = await wait_for_async(lambda: egress_status(lk, info.egress_id),
                                      lambda e: e.stream_results[0].status == api.StreamInfo.Status.FAILED, 15)
        failed_after = time.monotonic() - killed_at
        during = await egress_status(lk, info.egress_id)
        await asyncio.sleep(2.0)
        stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
        await sending
        await host.disconnect()
        await lk.aclose()
        return added, removed, failed, failed_after, during, stopped

    try:
        added, removed, failed, failed_after, during, stopped = run(go())
        for name in "BC":
            receivers[name].wait(timeout=20)
    finally:
        for proc in receivers.values():
            if proc.poll() is None:
                proc.kill()
    print(f"\nafter UpdateStream add: {stream_states(added)}")
    print(f"after UpdateStream remove: {stream_states(removed)}")
    print(f"A failed {failed_after:.2f} s after its listener was killed: {stream_states(during)}")
    print(f"stopped: {api.EgressStatus.Name(stopped.status)}")
    for s in stopped.stream_results:
        print(f"  {s.url} {api.StreamInfo.Status.Name(s.status)} {s.duration / 1e9:.2f} s retries={s.retries} {s.error!r}")
    shown = {name: f"rtmp://127.0.0.1:{ports[name]}/live/{{str...123}}" for name in "ABC"}
    assert [s.url for s in added.stream_results] == [shown["A"], shown["B"], shown["C"]], added
    assert all(s.status == api.StreamInfo.Status.ACTIVE for s in added.stream_results), added
    assert removed.stream_results[2].status == api.StreamInfo.Status.FINISHED, removed
    assert failed, during
    assert stopped.status == EGRESS_COMPLETE, stopped
    a, b, c = stopped.stream_results
    assert a.status == api.StreamInfo.Status.FAILED and a.retries == 3 and a.error, a
    assert b.status == api.StreamInfo.Status.FINISHED and b.duration > 4e9, b
    assert c.status == api.StreamInfo.Status.FINISHED and 2e9 < c.duration < 4.5e9, c
    for name, least in (("B", 4.0), ("C", 2.0)):
        codecs, probed = probe(outs[name])
        duration = float(probed["format"].get("duration") or media_end(outs[name]))
        print(f"listener {name}: {probed['format']['format_name']} {codecs} {duration:.2f} s")
        assert codecs == ["aac", "h264"], (name, codecs)
        assert duration > least, (name, duration)
        errors = decode_errors(outs[name])
        assert errors == "", (name, errors)


def test_participant_egress_streams_rtmp(server, workdir):
    """A participant egress with a StreamOutput goes through the compositor (H.264 + AAC)."""
    port = free_port()
    out = os.path.join(workdir, "participant.flv")
    receiver = start_receiver(port, out)
    url = f"rtmp://127.0.0.1:{port}/live/streamkey123"

    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "solo")
        cam, tone = VideoPattern(320, 240, (30, 200, 30), fps=20), Tone()
        await publish_camera(host, cam, rtc.VideoCodec.VP8)
        await publish_audio(host, tone)
        sending = asyncio.gather(cam.run(7), tone.run(7))
        await asyncio.sleep(1.0)
        info = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="solo", identity="host", advanced=SMALL,
            stream_outputs=[api.StreamOutput(protocol=api.StreamProtocol.RTMP, urls=[url])]))
        started = time.monotonic()
        await wait_for_async(lambda: egress_status(lk, info.egress_id), lambda e: e.status == EGRESS_ACTIVE, 10)
        await asyncio.sleep(4.0)
        wall = time.monotonic() - started
        stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
        await sending
        await host.disconnect()
        await lk.aclose()
        return info, stopped, wall

    try:
        info, stopped, wall = run(go())
        receiver.wait(timeout=20)
    finally:
        if receiver.poll() is None:
            receiver.kill()
    [stream] = stopped.stream_results
    codecs, probed = probe(out)
    duration = float(probed["format"].get("duration") or media_end(out))
    print(f"\nparticipant egress {api.EgressStatus.Name(stopped.status)} stream {stream.url} "
          f"{api.StreamInfo.Status.Name(stream.status)} {stream.duration / 1e9:.2f} s; listener got {codecs} "
          f"{duration:.2f} s (wall {wall:.2f} s)")
    assert info.WhichOneof("request") == "participant" and "streamkey123" not in str(info.participant), info
    assert stopped.status == EGRESS_COMPLETE and stream.status == api.StreamInfo.Status.FINISHED, stopped
    assert codecs == ["aac", "h264"], codecs
    assert abs(duration - wall) < 1.5, (duration, wall)
    errors = decode_errors(out)
    assert errors == "", errors
