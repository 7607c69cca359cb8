"""A LiveKit viewer in its own process (so it can run inside a network namespace): subscribes,
counts decoded video frames for SECONDS, prints one JSON line with the count and sizes."""
import asyncio
import json
import sys
import time

from livekit import rtc


async def main(url, token, seconds):
    room = rtc.Room()
    frames, sizes, first, times, video_tracks = [0], set(), [None], [], []

    def on_track(track, publication, participant):
        if track.kind != rtc.TrackKind.KIND_VIDEO:
            return
        video_tracks.append(track)

        async def read():
            async for event in rtc.VideoStream(track):
                if first[0] is None:
                    first[0] = time.time()
                frames[0] += 1
                times.append(round(time.time(), 4))
                sizes.add((event.frame.width, event.frame.height))
        asyncio.ensure_future(read())
    room.on("track_subscribed", on_track)
    await room.connect(url, token)
    connected_at = time.time()
    print(json.dumps({"event": "connected", "at": connected_at}), flush=True)
    await asyncio.sleep(seconds)
    # libwebrtc's own receive statistics (getStats): the RTX SSRC it repairs from and how many
    # retransmissions arrived on it.
    inbound = []
    for track in video_tracks:
        for stats in await track.get_stats():
            if stats.HasField("inbound_rtp"):
                i = stats.inbound_rtp.inbound
                inbound.append({"ssrc": stats.inbound_rtp.stream.ssrc, "rtx_ssrc": i.rtx_ssrc,
                                "retransmitted_packets_received": i.retransmitted_packets_received,
                                "nack_count": i.nack_count, "packets_lost": stats.inbound_rtp.received.packets_lost,
                                "frames_decoded": i.frames_decoded, "freeze_count": i.freeze_count})
    print(json.dumps({"frames": frames[0], "first_frame_at": first[0], "sizes": sorted(sizes), "times": times,
                      "inbound": inbound, "connected_at": connected_at, "stats_at": time.time()}), flush=True)
    await room.disconnect()


asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
