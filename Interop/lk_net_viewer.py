"""A LiveKit viewer in its own process, for tests that run it inside a network namespace with a
restricted path to the server (UDP dropped, or TURN only). Subscribes, counts decoded video and
audio frames for SECONDS, then reads its subscriber connection's WebRTC stats and prints one JSON
line: frame counts, and the selected ICE candidate pair (local/remote type, protocol, relay
protocol, addresses) as libwebrtc reports it.

usage: lk_net_viewer.py URL TOKEN SECONDS [relay] [connect=S]
  relay: ICE transport policy relay-only; connect=S: give up connecting after S seconds (30)
"""
import asyncio
import json
import sys
import time

from livekit import rtc
from livekit.rtc._proto import room_pb2


def selected_pair(stats):
    """The selected candidate pair of the first transport that has one, as a dict."""
    # Each entry is a oneof whose variant carries its id in `rtc`.
    by_id = {getattr(s, s.WhichOneof("stats")).rtc.id: s for s in stats if s.WhichOneof("stats")}
    for s in stats:
        if s.WhichOneof("stats") != "transport":
            continue
        pair_id = s.transport.transport.selected_candidate_pair_id
        if not pair_id or pair_id not in by_id:
            continue
        pair = by_id[pair_id].candidate_pair.candidate_pair
        out = {"state": pair.state, "bytes_received": pair.bytes_received}
        for side, cid in (("local", pair.local_candidate_id), ("remote", pair.remote_candidate_id)):
            entry = by_id.get(cid)
            if entry is None:
                continue
            c = getattr(entry, f"{side}_candidate").candidate
            fields = c.DESCRIPTOR.fields_by_name

            def name(field):  # enum values by name: "host", "tcp", "passive"...
                value = getattr(c, field)
                try:
                    if not c.HasField(field):
                        return None
                except ValueError:  # a proto3 field without presence
                    pass
                return fields[field].enum_type.values_by_number[value].name.split("_")[-1].lower()
            out[side] = {"type": name("candidate_type"), "protocol": c.protocol, "relay_protocol": name("relay_protocol"),
                         "tcp_type": name("tcp_type"), "address": c.address, "port": c.port, "url": c.url}
        return out
    return None


async def main(url, token, seconds, relay_only, connect_timeout):
    room = rtc.Room()
    counts = {"video": 0, "audio": 0}
    first = {}

    def on_track(track, publication, participant):
        kind = "video" if track.kind == rtc.TrackKind.KIND_VIDEO else "audio"
        stream = rtc.VideoStream(track) if kind == "video" else rtc.AudioStream(track)

        async def read():
            async for _ in stream:
                counts[kind] += 1
                first.setdefault(kind, time.time())
        asyncio.ensure_future(read())
    room.on("track_subscribed", on_track)
    options = rtc.RoomOptions()
    if relay_only:
        options.rtc_config = rtc.RtcConfiguration(ice_transport_type=room_pb2.IceTransportType.TRANSPORT_RELAY)
    started = time.time()
    try:
        await asyncio.wait_for(room.connect(url, token, options), connect_timeout)
    except Exception as e:  # the test reads the outcome from this line
        print(json.dumps({"connected": False, "error": f"{type(e).__name__}: {e}", "after": time.time() - started}),
              flush=True)
        return
    print(json.dumps({"event": "connected", "after": round(time.time() - started, 2)}), flush=True)
    await asyncio.sleep(seconds)
    stats = await room.get_rtc_stats()
    result = {"connected": True, "video_frames": counts["video"], "audio_frames": counts["audio"],
              "first_frame_after": {k: round(v - started, 2) for k, v in first.items()},
              "subscriber_pair": selected_pair(stats.subscriber_stats),
              "publisher_pair": selected_pair(stats.publisher_stats)}
    print(json.dumps(result), flush=True)
    await room.disconnect()


flags = sys.argv[4:]
timeout = next((float(f.split("=", 1)[1]) for f in flags if f.startswith("connect=")), 30.0)
asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), "relay" in flags, timeout))
