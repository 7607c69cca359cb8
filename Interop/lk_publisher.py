"""A LiveKit publisher in its own process (so it can run inside a network namespace): publishes a
320x240 VP8 test pattern for SECONDS, then prints one JSON line with the frames it pushed and
libwebrtc's outbound statistics (retransmissions it sent, NACKs it received)."""
import asyncio
import json
import sys
import time

from livekit import rtc

from lk_rtc import VideoPattern, publish_video


async def main(url, token, seconds):
    room = rtc.Room()
    await room.connect(url, token)
    pattern = VideoPattern(320, 240, (200, 90, 30), fps=15)
    publication = await publish_video(room, "camera", rtc.TrackSource.SOURCE_CAMERA, pattern)
    published_at = time.time()
    print(json.dumps({"event": "published", "track": publication.sid}), flush=True)
    await pattern.run(seconds)
    outbound = []
    for stats in await publication.track.get_stats():
        if stats.HasField("outbound_rtp"):
            o = stats.outbound_rtp
            outbound.append({"ssrc": o.stream.ssrc, "packets_sent": o.sent.packets_sent,
                             "retransmitted_packets_sent": o.outbound.retransmitted_packets_sent,
                             "rtx_ssrc": o.outbound.rtx_ssrc,
                             "nack_count": o.outbound.nack_count, "frames_sent": o.outbound.frames_sent})
    print(json.dumps({"frames": pattern.sent, "outbound": outbound, "seconds": time.time() - published_at}), flush=True)
    await room.disconnect()


asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
