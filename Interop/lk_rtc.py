"""Helpers for tests that drive Sluice with LiveKit's real-time Python SDK (`livekit`, the Rust
SDK with libwebrtc inside): tokens, synthetic camera/screen/microphone sources, and viewers that
count decoded frames per track."""
import asyncio
import collections
import math
import time

import numpy as np
from livekit import api, rtc

from conftest import API_KEY, API_SECRET


def token(identity, room, name=None, metadata=None, **grants):
    grant = api.VideoGrants(room_join=True, room=room, **grants)
    t = api.AccessToken(API_KEY, API_SECRET).with_identity(identity).with_grants(grant)
    if name:
        t = t.with_name(name)
    if metadata:
        t = t.with_metadata(metadata)
    return t.to_jwt()


async def connect(server, identity, room, options=None, **grants):
    r = rtc.Room()
    await asyncio.wait_for(r.connect(server.ws_url, token(identity, room, **grants), options or rtc.RoomOptions()), 20)
    return r


class VideoPattern:
    """A synthetic video source: a solid colour that changes every frame, pushed at `fps`."""

    def __init__(self, width, height, colour, fps=15):
        self.width, self.height, self.fps = width, height, fps
        self.source = rtc.VideoSource(width, height)
        self.buffer = np.zeros((height, width, 4), dtype=np.uint8)
        self.buffer[:, :, 0], self.buffer[:, :, 1], self.buffer[:, :, 2] = colour
        self.buffer[:, :, 3] = 255
        self.sent = 0

    async def run(self, seconds):
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            self.buffer[: self.height // 8, :, :3] = (self.sent * 7) % 256  # a moving band
            # Stamped with its nominal capture time, as a camera would: on a loaded machine the
            # loop wakes late, and frames stamped when they are pushed would come 10 ms apart,
            # then 90 ms, which players and ffmpeg's checks treat as the file's fault.
            frame = rtc.VideoFrame(self.width, self.height, rtc.VideoBufferType.RGBA, self.buffer.tobytes())
            self.source.capture_frame(frame, timestamp_us=int((start + self.sent / self.fps) * 1_000_000))
            self.sent += 1
            await asyncio.sleep(max(0, start + self.sent / self.fps - time.monotonic()))


class Tone:
    """A 440 Hz sine at 48 kHz mono, pushed in 10 ms frames."""

    RATE = 48000
    SAMPLES = 480

    def __init__(self):
        self.source = rtc.AudioSource(self.RATE, 1)
        self.sent = 0

    async def run(self, seconds, silent=False):
        """Pushes `seconds` of the tone (of zeros when `silent`: a pause inside the stream, which
        the source's queue does not paper over as it would a pause in pushing)."""
        start = time.monotonic()
        phase = 0
        while time.monotonic() - start < seconds:
            frame = rtc.AudioFrame.create(self.RATE, 1, self.SAMPLES)
            samples = np.frombuffer(frame.data, dtype=np.int16)
            t = (np.arange(self.SAMPLES) + phase) / self.RATE
            samples[:] = 0 if silent else (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16)
            phase += self.SAMPLES
            await self.source.capture_frame(frame)
            self.sent += 1

    async def play(self, seconds, silent=False):
        """Pushes exactly `seconds` of media (of zeros when `silent`), paced by the source's queue
        (1 s deep) rather than by this loop's clock: what the server hears is then the stream as
        written even when this process is descheduled for a moment, which `run` (that stops at a
        wall-clock time) would turn into a shorter or longer stretch than asked for."""
        frames = round(seconds * self.RATE / self.SAMPLES)
        for i in range(frames):
            frame = rtc.AudioFrame.create(self.RATE, 1, self.SAMPLES)
            samples = np.frombuffer(frame.data, dtype=np.int16)
            t = (np.arange(self.SAMPLES) + i * self.SAMPLES) / self.RATE
            samples[:] = 0 if silent else (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16)
            await self.source.capture_frame(frame)
            self.sent += 1


async def publish_video(room, name, source_kind, pattern, simulcast=False):
    track = rtc.LocalVideoTrack.create_video_track(name, pattern.source)
    options = rtc.TrackPublishOptions(source=source_kind, simulcast=simulcast, video_codec=rtc.VideoCodec.VP8)
    return await asyncio.wait_for(room.local_participant.publish_track(track, options), 15)


async def publish_audio(room, tone):
    track = rtc.LocalAudioTrack.create_audio_track("mic", tone.source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    return await asyncio.wait_for(room.local_participant.publish_track(track, options), 15)


class Viewer:
    """Counts decoded frames (and sizes) of every track it is subscribed to, by track name."""

    def __init__(self, room):
        self.room = room
        self.frames = collections.Counter()
        self.sizes = {}
        self.first_frame_at = {}
        self.tasks = []
        self.events = []
        room.on("track_subscribed", self._subscribed)

    def _subscribed(self, track, publication, participant):
        self.events.append(("subscribed", publication.name, participant.identity))
        self.tasks.append(asyncio.ensure_future(self._read(track, publication.name)))

    async def _read(self, track, name):
        stream = rtc.VideoStream(track) if track.kind == rtc.TrackKind.KIND_VIDEO else rtc.AudioStream(track)
        async for event in stream:
            self.frames[name] += 1
            self.first_frame_at.setdefault(name, time.monotonic())
            if track.kind == rtc.TrackKind.KIND_VIDEO:
                self.sizes[name] = (event.frame.width, event.frame.height)

    async def close(self):
        for task in self.tasks:
            task.cancel()
        await self.room.disconnect()


async def wait_for(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()
