#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (committed; rerun to regenerate).

Seeds are real inputs: the SDP offers from Tests/MediaTests/SDPFixtures.swift (Chrome, aiortc)
plus one aiortc makes here; RTP/RTCP packets built field by field as libwebrtc sends them; the
signalling and Twirp messages LiveKit's own Python SDK (`livekit-protocol`) encodes. Needs the
Interop venv: .build-interop/venv/bin/python fuzz/make_corpus.py"""
import asyncio
import os
import re
import struct

from google.protobuf import json_format
from livekit.protocol import egress, models, room, rtc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def rtp(pt, seq, ts, ssrc, payload, marker=False, extensions=None, two_byte=False, csrcs=(), padding=0):
    first = 0x80 | (0x20 if padding else 0) | (0x10 if extensions else 0) | len(csrcs)
    out = struct.pack("!BBHII", first, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    out += b"".join(struct.pack("!I", c) for c in csrcs)
    if extensions:
        body = b""
        for ident, value in extensions:
            body += bytes([ident, len(value)]) + value if two_byte else bytes([(ident << 4) | (len(value) - 1)]) + value
        body += b"\0" * (-len(body) % 4)
        out += struct.pack("!HH", 0x1000 if two_byte else 0xBEDE, len(body) // 4) + body
    out += payload
    if padding:
        out += b"\0" * (padding - 1) + bytes([padding])
    return out


def stream(packets):
    """fuzz/Sources/FuzzSupport: each packet as a 2-byte length and its bytes."""
    return b"".join(struct.pack("!H", len(p)) + p for p in packets)


EXT = [(1, b"0"), (3, struct.pack("!H", 4711)), (2, b"\x12\x34\x56")]  # mid, transport-cc seq, abs-send-time

# VP8 (RFC 7741): descriptor X=1 I=1 M=1 (15-bit picture id), L=1 T=1; a 640x480 keyframe in 3 packets.
vp8_key = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) + bytes(range(40))
vp8 = [
    rtp(96, 100, 9000, 0x1111, bytes([0x90, 0xE0, 0x80, 0x01, 0x05, 0x20]) + vp8_key[:20], extensions=EXT),
    rtp(96, 101, 9000, 0x1111, bytes([0x80, 0xE0, 0x80, 0x01, 0x05, 0x20]) + vp8_key[20:40]),
    rtp(96, 102, 9000, 0x1111, bytes([0x80, 0xE0, 0x80, 0x01, 0x05, 0x20]) + vp8_key[40:], marker=True),
    rtp(96, 103, 12000, 0x1111, bytes([0x90, 0xE0, 0x80, 0x02, 0x05, 0x40, 0x31, 0x02, 0x00]) + b"\x55" * 30, marker=True),
]
write("FuzzVP8", "keyframe-then-delta", stream(vp8))
write("FuzzVP8", "delta-first-with-loss", stream([vp8[3], vp8[0], vp8[2]]))

# H.264 (RFC 6184): STAP-A with SPS+PPS+IDR, an IDR in FU-A fragments, then a single-NAL slice.
sps = bytes([0x67, 0x42, 0xC0, 0x0D, 0xD9, 0x01, 0x41, 0xFB, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03,
             0x03, 0xC0, 0xF1, 0x42, 0xA4, 0x80])  # Tests/EgressTests/DepacketizerTests.swift (320x240)
pps = bytes([0x68, 0xCB, 0x83, 0xCB, 0x20])
idr = bytes([0x65, 0x88, 0x84, 0x00, 0x33, 0xFF]) + bytes(range(60))
stap = b"\x18" + b"".join(struct.pack("!H", len(u)) + u for u in (sps, pps))
fu = [bytes([0x7C, 0x85]) + idr[1:25], bytes([0x7C, 0x05]) + idr[25:45], bytes([0x7C, 0x45]) + idr[45:]]
h264 = [rtp(102, 7, 90000, 0x2222, stap, extensions=EXT)] + \
       [rtp(102, 8 + i, 90000, 0x2222, p, marker=(i == 2)) for i, p in enumerate(fu)] + \
       [rtp(102, 11, 93000, 0x2222, bytes([0x41, 0x9A, 0x02, 0x03]), marker=True)]
write("FuzzH264", "stapa-fua-single", stream(h264))
write("FuzzH264", "stapa-with-idr", stream([rtp(102, 1, 0, 0x2222, stap + struct.pack("!H", len(idr)) + idr, marker=True)]))

# Opus: TOC bytes of libwebrtc's 20 ms SILK/CELT frames, code 0 and code 3 packets, with audio level.
opus = [rtp(111, 500 + i, 960 * i, 0x3333, bytes([toc]) + b"\xAB" * n, marker=(i == 0),
            extensions=[(1, bytes([0x80 | 30]))]) for i, (toc, n) in enumerate([(0x78, 60), (0xFC, 3), (0x48, 40), (0x7B, 5)])]
write("FuzzOpus", "four-packets", stream(opus))

# Single RTP packets for the RTP target.
write("FuzzRTP", "vp8-one-byte-ext", vp8[0])
write("FuzzRTP", "vp8-two-byte-ext-csrc-padding",
      rtp(96, 65535, 1, 0x1111, vp8_key[:20], extensions=[(1, b"q"), (20, b"hh")], two_byte=True, csrcs=[7, 8], padding=4))
write("FuzzRTP", "h264-stapa", h264[0])
write("FuzzRTP", "opus-audio-level", opus[0])
write("FuzzRTP", "rtx", rtp(97, 9, 9000, 0x4444, struct.pack("!H", 101) + vp8[1][12:]))


# RTCP (RFC 3550, 4585, 5104, draft-holmer-rmcat-transport-wide-cc, REMB).
def rtcp(count, pt, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!BBH", 0x80 | count, pt, len(body) // 4) + body


block = struct.pack("!IIIIII", 0x1111, 0x02000010, 0x00010064, 20, 0x12345678, 0x100)
sr = rtcp(1, 200, struct.pack("!IQIII", 0x9999, 0xE1234567_89ABCDEF, 90000, 10, 12000) + block)
sdes = rtcp(1, 202, struct.pack("!I", 0x9999) + bytes([1, 8]) + b"abcdefgh" + b"\0")
rr = rtcp(1, 201, struct.pack("!I", 0x9999) + block)
pli = rtcp(1, 206, struct.pack("!II", 0x9999, 0x1111))
fir = rtcp(4, 206, struct.pack("!IIIB3x", 0x9999, 0, 0x1111, 3))
nack = rtcp(1, 205, struct.pack("!IIHH", 0x9999, 0x1111, 100, 0b1010))
remb = rtcp(15, 206, struct.pack("!II", 0x9999, 0) + b"REMB" + bytes([1, 0x0F, 0x42, 0x40]) + struct.pack("!I", 0x1111))
twcc = rtcp(15, 205, struct.pack("!IIHHI", 0x9999, 0x1111, 1000, 7, (0x0A1B2C << 8) | 3)
            + struct.pack("!HH", 0x2006, 0xD600) + bytes([4, 8, 12, 16, 20, 24, 28]))
bye = rtcp(1, 203, struct.pack("!I", 0x9999) + bytes([4]) + b"gone")
write("FuzzRTCP", "sr-sdes", sr + sdes)
write("FuzzRTCP", "rr-pli-fir-nack", rr + pli + fir + nack)
write("FuzzRTCP", "remb-twcc-bye", remb + twcc + bye)

# SDP: the unit tests' Chrome and aiortc offers, and one aiortc makes now.
fixtures = open(os.path.join(REPO, "Tests/MediaTests/SDPFixtures.swift")).read()
for name in ("chromeOffer", "aiortcOffer"):
    text = re.search(r"let %s = crlf\(\"\"\"\n(.*?)\n\"\"\"\)" % name, fixtures, re.S).group(1)
    write("FuzzSDP", name, text.replace("\n", "\r\n") + "\r\n")


async def aiortc_offer():
    from aiortc import RTCPeerConnection
    pc = RTCPeerConnection()
    pc.addTransceiver("audio", direction="sendonly")
    pc.addTransceiver("video", direction="sendonly")
    pc.createDataChannel("_reliable")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp

write("FuzzSDP", "aiortc-live-offer", asyncio.run(aiortc_offer()))

# Signalling: what LiveKit's SDKs send on /rtc (first byte: even = binary frame, odd = JSON text).
chrome = open(os.path.join(HERE, "corpus", "FuzzSDP", "chromeOffer")).read()
signals = {
    "offer": rtc.SignalRequest(offer=rtc.SessionDescription(type="offer", sdp=chrome)),
    "trickle": rtc.SignalRequest(trickle=rtc.TrickleRequest(
        candidateInit='{"candidate":"candidate:1 1 udp 2122260223 192.168.1.2 5000 typ host","sdpMid":"0"}',
        target=rtc.SignalTarget.PUBLISHER)),
    "add-track": rtc.SignalRequest(add_track=rtc.AddTrackRequest(
        cid="camera", name="camera", type=models.TrackType.VIDEO, width=1280, height=720, source=models.TrackSource.CAMERA,
        layers=[models.VideoLayer(quality=models.VideoQuality.LOW, width=320, height=180)])),
    "subscription": rtc.SignalRequest(subscription=rtc.UpdateSubscription(track_sids=["TR_abc"], subscribe=True)),
    "track-setting": rtc.SignalRequest(track_setting=rtc.UpdateTrackSettings(track_sids=["TR_abc"], quality=models.VideoQuality.HIGH)),
    "leave": rtc.SignalRequest(leave=rtc.LeaveRequest(reason=models.DisconnectReason.CLIENT_INITIATED)),
    "ping": rtc.SignalRequest(ping_req=rtc.Ping(timestamp=1700000000000, rtt=12)),
    "sync-state": rtc.SignalRequest(sync_state=rtc.SyncState(answer=rtc.SessionDescription(type="answer", sdp="v=0\r\n"))),
}
for name, message in signals.items():
    write("FuzzSignalRequest", name + ".bin", b"\x00" + message.SerializeToString())
    write("FuzzSignalRequest", name + ".json", b"\x01" + json_format.MessageToJson(message).encode())

# Twirp bodies: the first byte picks the message, as in FuzzTwirp.swift's `requestTypes` (top bit: JSON).
twirp = [
    (0, room.CreateRoomRequest(name="live-sale", empty_timeout=300, max_participants=50, metadata='{"sku":1}')),
    (1, room.ListRoomsRequest(names=["a", "b"])),
    (6, room.UpdateParticipantRequest(room="r", identity="host", metadata="m",
                                      permission=models.ParticipantPermission(can_publish=True))),
    (8, room.SendDataRequest(room="r", data=b"hello", kind=models.DataPacket.RELIABLE, destination_identities=["x"])),
    (10, egress.RoomCompositeEgressRequest(room_name="live-sale", layout="grid", file_outputs=[
        egress.EncodedFileOutput(file_type=egress.EncodedFileType.MP4, filepath="sales/{room_name}-{time}.mp4")],
        stream_outputs=[egress.StreamOutput(protocol=egress.StreamProtocol.RTMP, urls=["rtmp://127.0.0.1/live/key"])])),
    (11, egress.TrackEgressRequest(room_name="r", track_id="TR_x", file=egress.DirectFileOutput(filepath="tracks/{track_id}"))),
    (12, egress.ParticipantEgressRequest(room_name="r", identity="host", file_outputs=[
        egress.EncodedFileOutput(filepath="host.webm", s3=egress.S3Upload(access_key="a", secret="s", bucket="b"))])),
    (17, egress.ListEgressRequest(room_name="r", active=True)),
]
for selector, message in twirp:
    kind = type(message).__name__
    write("FuzzTwirp", f"{kind}.bin", bytes([selector]) + message.SerializeToString())
    write("FuzzTwirp", f"{kind}.json", bytes([0x80 | selector]) + json_format.MessageToJson(message).encode())
print("corpora written under", os.path.join(HERE, "corpus"))
