"""A LiveKit Python SDK viewer (libwebrtc) that records when each decoded frame arrived, for the
downlink tests (it runs inside a network namespace whose downlink the test shapes). For SECONDS it
logs every decoded video frame as (wall time, width) and every decoded audio frame's wall time,
then prints one JSON line with them, its subscriber connection's inbound RTP stats and the
connection quality the server gave it (ConnectionQualityUpdate) over time.

usage: lk_downlink_viewer.py URL TOKEN SECONDS
"""
import asyncio
import json
import sys
import time

from livekit import rtc


async def main(url, token, seconds):
    room = rtc.Room()
    video, audio = [], []

    def on_track(track, publication, participant):
        if track.kind == rtc.TrackKind.KIND_VIDEO:
            async def read_video():
                async for event in rtc.VideoStream(track):
                    video.append((round(time.time(), 3), event.frame.width))
            asyncio.ensure_future(read_video())
        else:
            async def read_audio():
                async for _ in rtc.AudioStream(track):
                    audio.append(round(time.time(), 3))
            asyncio.ensure_future(read_audio())
    room.on("track_subscribed", on_track)
    quality = []  # (wall time, ConnectionQuality) the server rated this viewer's own connection

    def on_quality(participant, value):
        if participant.identity == room.local_participant.identity:
            quality.append((round(time.time(), 3), int(value)))
    room.on("connection_quality_changed", on_quality)
    await asyncio.wait_for(room.connect(url, token, rtc.RoomOptions()), 30)
    print(json.dumps({"event": "connected", "at": time.time()}), flush=True)
    await asyncio.sleep(seconds)
    stats = await room.get_rtc_stats()
    inbound = []
    for s in list(stats.subscriber_stats) + list(stats.publisher_stats):
        if s.WhichOneof("stats") == "inbound_rtp":
            r = s.inbound_rtp
            inbound.append({"kind": r.stream.kind, "packets": r.received.packets_received,
                            "lost": r.received.packets_lost, "frames_decoded": r.inbound.frames_decoded,
                            "freezes": r.inbound.freeze_count, "freeze_s": r.inbound.total_freeze_duration, "pauses": r.inbound.pause_count})
    print(json.dumps({"video": video, "audio": audio, "inbound": inbound, "quality": quality}), flush=True)
    await room.disconnect()


asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
