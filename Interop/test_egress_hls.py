"""HLS egress (SegmentedFileOutput): a `livekit` SDK host publishes a camera pattern and a tone,
`livekit-api` records the room composite to MPEG-TS segments with a live playlist, and the host
alone (participant egress) to fMP4 segments uploaded to `rclone serve s3` (as in
test_egress_s3.py). While recording, the playlist is an open EVENT playlist and the live playlist
lists only the newest segments; at the end ffmpeg plays each playlist (the local one, and the one
downloaded from the bucket with its segments) silently, with a duration within 1 s of the wall
time the egress covered, and EgressInfo's segment_results say the same."""
import asyncio
import os
import re
import subprocess
import time

from livekit import api, rtc

from conftest import SluiceServer
from lk_rtc import Tone, VideoPattern, connect, publish_audio
from test_egress import EGRESS_ACTIVE, EGRESS_COMPLETE, decode_errors, egress_status, lkapi, probe, publish_camera, \
    run, wait_for_async
from test_egress_s3 import ACCESS_KEY, SECRET, S3Server

# Small, so two encodes fit beside the other helpers' builds on two cores.
SMALL = api.EncodingOptions(width=640, height=360, framerate=20, video_bitrate=800, audio_bitrate=64)


def playlist_entries(path):
    """(segment uri, seconds) in playlist order, and whether it is closed (#EXT-X-ENDLIST)."""
    text = open(path).read()
    entries = [(uri, float(seconds)) for seconds, uri in re.findall(r"#EXTINF:([0-9.]+),\s*\n([^#\s][^\n]*)", text)]
    return entries, "#EXT-X-ENDLIST" in text, text


def played_seconds(path):
    """What ffmpeg decodes from the playlist, by the last packet's end (ffprobe reads HLS as one stream)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def test_room_composite_and_participant_to_hls_local_and_s3(workdir):
    s3 = S3Server(["hls"])
    server = SluiceServer(workdir).start()
    recordings = os.path.join(workdir, "recordings")

    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "stage")
        cam, tone = VideoPattern(320, 240, (30, 90, 220), fps=20), Tone()
        await publish_camera(host, cam, rtc.VideoCodec.VP8)
        await publish_audio(host, tone)
        sending = asyncio.gather(cam.run(12), tone.run(12))
        await asyncio.sleep(1.0)
        room = await lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(
            room_name="stage", layout="grid", advanced=SMALL,
            segment_outputs=[api.SegmentedFileOutput(
                filename_prefix="{room_name}/room/seg", playlist_name="{room_name}/room/index.m3u8",
                live_playlist_name="{room_name}/room/live.m3u8", segment_duration=2)]))
        room_started = time.monotonic()
        upload = api.S3Upload(access_key=ACCESS_KEY, secret=SECRET, region="us-east-1", endpoint=s3.endpoint,
                              bucket="hls", force_path_style=True)
        part = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="stage", identity="host", advanced=SMALL,
            segment_outputs=[api.SegmentedFileOutput(
                protocol=api.SegmentedFileProtocol.HLS_FMP4_PROTOCOL, filename_prefix="{room_name}/host/part",
                playlist_name="{room_name}/host/playlist.m3u8", segment_duration=2, s3=upload)]))
        part_started = time.monotonic()
        for e in (room, part):
            assert await wait_for_async(lambda: egress_status(lk, e.egress_id), lambda i: i.status == EGRESS_ACTIVE, 10), e
        await asyncio.sleep(5.0)
        # While recording: an open playlist, and the live one with the newest segments.
        main_entries, main_closed, _ = playlist_entries(os.path.join(recordings, "stage/room/index.m3u8"))
        live_entries, live_closed, live_text = playlist_entries(os.path.join(recordings, "stage/room/live.m3u8"))
        while_recording = (main_entries, main_closed, live_entries, live_closed, live_text)
        await asyncio.sleep(1.0)
        # Wall time: from each Start reply to its Stop request.
        room_wall = time.monotonic() - room_started
        room_stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=room.egress_id))
        part_wall = time.monotonic() - part_started
        part_stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=part.egress_id))
        # The participant's egress stays ENDING while its segments go up.
        await wait_for_async(lambda: egress_status(lk, part.egress_id), lambda i: i.status == EGRESS_COMPLETE, 30)
        part_ended = await egress_status(lk, part.egress_id)
        await sending
        await host.disconnect()
        await lk.aclose()
        return room, part, room_stopped, room_wall, part_stopped, part_ended, part_wall, while_recording

    try:
        room, part, room_ended, room_wall, part_stopped, part_ended, part_wall, while_recording = run(go())
        main_entries, main_closed, live_entries, live_closed, live_text = while_recording
        print(f"\nwhile recording: playlist {len(main_entries)} segments, closed={main_closed}; "
              f"live playlist {[uri for uri, _ in live_entries]} closed={live_closed}")
        assert len(main_entries) >= 2 and not main_closed, while_recording
        assert live_entries and not live_closed and live_entries == main_entries[-len(live_entries):], while_recording

        # Room composite, MPEG-TS segments on the local disk.
        assert room.segment_results and room.segment_results[0].playlist_name == "stage/room/index.m3u8", room
        assert room_ended.status == EGRESS_COMPLETE, room_ended
        [seg] = room_ended.segment_results
        playlist = os.path.join(recordings, "stage/room/index.m3u8")
        entries, closed, _ = playlist_entries(playlist)
        played = played_seconds(playlist)
        codecs, _ = probe(playlist)
        print(f"room composite: {seg.segment_count} segments {[uri for uri, _ in entries]}, "
              f"playlist {sum(s for _, s in entries):.2f} s, ffprobe {played:.2f} s, EgressInfo {seg.duration / 1e9:.2f} s, "
              f"{seg.size} bytes, codecs {codecs}, wall {room_wall:.2f} s, location {seg.playlist_location}")
        assert closed and seg.segment_count == len(entries) >= 3, (seg, entries)
        assert all(uri.startswith("seg_") and uri.endswith(".ts") for uri, _ in entries), entries
        assert seg.playlist_location == playlist and seg.live_playlist_name == "stage/room/live.m3u8", seg
        assert codecs == ["aac", "h264"], codecs
        assert abs(played - room_wall) < 1.0 and abs(seg.duration / 1e9 - room_wall) < 1.0, (played, seg.duration, room_wall)
        assert seg.size == sum(os.path.getsize(os.path.join(recordings, "stage/room", uri)) for uri, _ in entries)
        errors = decode_errors(playlist)
        assert errors == "", errors
        live_final, live_closed_final, _ = playlist_entries(os.path.join(recordings, "stage/room/live.m3u8"))
        assert live_closed_final and live_final == entries[-len(live_final):], live_final

        # Participant egress, fMP4 segments in the bucket (and no longer on the disk).
        print(f"participant: stop answered {api.EgressStatus.Name(part_stopped.status)}, then "
              f"{api.EgressStatus.Name(part_ended.status)} {part_ended.error!r}")
        assert part_ended.status == EGRESS_COMPLETE, part_ended
        assert part_ended.WhichOneof("request") == "participant", part_ended
        [pseg] = part_ended.segment_results
        keys = sorted(o["Key"] for o in s3.client.list_objects_v2(Bucket="hls").get("Contents", []))
        print(f"bucket hls: {keys}; playlist location {pseg.playlist_location}, {pseg.segment_count} segments, "
              f"{pseg.duration / 1e9:.2f} s, {pseg.size} bytes, wall {part_wall:.2f} s")
        assert "stage/host/playlist.m3u8" in keys and "stage/host/part_init.mp4" in keys, keys
        segments = [k for k in keys if k.endswith(".m4s")]
        assert len(segments) == pseg.segment_count >= 3, (segments, pseg)
        assert pseg.playlist_location == f"{s3.endpoint}/hls/stage/host/playlist.m3u8", pseg
        assert not os.path.exists(os.path.join(recordings, "stage/host/playlist.m3u8"))
        downloaded = os.path.join(workdir, "downloaded")
        os.makedirs(downloaded)
        for key in keys:
            s3.client.download_file("hls", key, os.path.join(downloaded, os.path.basename(key)))
        local = os.path.join(downloaded, "playlist.m3u8")
        played = played_seconds(local)
        codecs, _ = probe(local)
        print(f"downloaded playlist plays {played:.2f} s, codecs {codecs}")
        assert codecs == ["aac", "h264"], codecs
        assert abs(played - part_wall) < 1.0 and abs(pseg.duration / 1e9 - part_wall) < 1.0, (played, pseg, part_wall)
        errors = decode_errors(local)
        assert errors == "", errors
    finally:
        alive = server.alive()
        server.stop()
        s3.stop()
    assert alive, server.read_log()


def test_session_limits_end_egresses_limit_reached(workdir):
    """`recordings.session_limits` as LiveKit egress's: a file egress ends by itself after
    file_output_max_duration, an HLS egress after segment_output_max_duration, both
    EGRESS_LIMIT_REACHED with what they recorded whole."""
    server = SluiceServer(workdir, recordings_config=(
        "  session_limits:\n"
        "    file_output_max_duration: 2s\n"
        "    segment_output_max_duration: 3s\n")).start()
    recordings = os.path.join(workdir, "recordings")

    async def go():
        lk = lkapi(server)
        host = await connect(server, "host", "capped")
        cam, tone = VideoPattern(320, 240, (200, 200, 30), fps=20), Tone()
        await publish_camera(host, cam, rtc.VideoCodec.VP8)
        await publish_audio(host, tone)
        sending = asyncio.gather(cam.run(9), tone.run(9))
        await asyncio.sleep(1.0)
        file = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="capped", identity="host",
            file_outputs=[api.EncodedFileOutput(filepath="{room_name}/capped.webm")]))
        hls = await lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(
            room_name="capped", layout="grid", advanced=api.EncodingOptions(width=320, height=180, framerate=15),
            segment_outputs=[api.SegmentedFileOutput(playlist_name="{room_name}/capped.m3u8", segment_duration=1)]))
        started = time.monotonic()
        limited = api.EgressStatus.EGRESS_LIMIT_REACHED
        ended = {}
        for e in (file, hls):
            await wait_for_async(lambda: egress_status(lk, e.egress_id), lambda i: i.status == limited, 15)
            ended[e.egress_id] = (await egress_status(lk, e.egress_id), time.monotonic() - started)
        await sending
        await host.disconnect()
        await lk.aclose()
        return ended[file.egress_id], ended[hls.egress_id]

    try:
        (file, file_seen), (hls, hls_seen) = run(go())
    finally:
        alive = server.alive()
        server.stop()
    assert alive, server.read_log()
    path = file.file_results[0].filename
    codecs, probed = probe(path)
    file_duration = float(probed["format"]["duration"])
    playlist = os.path.join(recordings, "capped/capped.m3u8")
    played = played_seconds(playlist)
    print(f"\nfile egress: {api.EgressStatus.Name(file.status)} ({file.details}) seen after {file_seen:.2f} s, "
          f"{os.path.basename(path)} {codecs} {file_duration:.2f} s")
    print(f"HLS egress: {api.EgressStatus.Name(hls.status)} ({hls.details}) seen after {hls_seen:.2f} s, "
          f"{hls.segment_results[0].segment_count} segments, playlist plays {played:.2f} s")
    assert file.status == api.EgressStatus.EGRESS_LIMIT_REACHED and "2 s" in file.details, file
    assert hls.status == api.EgressStatus.EGRESS_LIMIT_REACHED and "3 s" in hls.details, hls
    assert 1.2 < file_duration < 3.2, file_duration
    assert 2.0 < played < 4.5, played
    assert decode_errors(path) == "" and decode_errors(playlist) == ""
