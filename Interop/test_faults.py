"""Faults from outside the process (issue #20): a recordings disk that fills up mid-recording, a
database that cannot be opened at start, a webhook receiver that goes away for a while.

Each test states the outcome in its name. They need root (mounting tmpfs), as CI runs them."""
import asyncio
import http.server
import os
import queue
import re
import sqlite3
import subprocess
import threading
import time

import numpy as np
import pytest
from livekit import api, rtc

from conftest import API_KEY, API_SECRET, SluiceServer, free_port, sluice_binary
from lk_rtc import Tone, VideoPattern, Viewer, connect, publish_audio, publish_video, token, wait_for
from test_egress import EGRESS_ACTIVE, EGRESS_COMPLETE, EGRESS_FAILED, egress_status, lkapi, probe, publish_camera, \
    wait_for_async

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs: needs root")


class NoisePattern(VideoPattern):
    """Random pixels in the top quarter of every frame: the encoder spends all the bitrate it is
    allowed, so a small disk fills in seconds, yet keeps most of its frame rate (a whole frame
    of noise makes libwebrtc drop most frames, which would hide what the viewer gets)."""

    def __init__(self, width, height, fps=20):
        super().__init__(width, height, (0, 0, 0), fps)
        self.rng = np.random.default_rng(20)

    async def run(self, seconds):
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            band = self.height // 4
            self.buffer[:band, :, :3] = self.rng.integers(0, 256, (band, self.width, 3), dtype=np.uint8)
            frame = rtc.VideoFrame(self.width, self.height, rtc.VideoBufferType.RGBA, self.buffer.tobytes())
            self.source.capture_frame(frame, timestamp_us=int((start + self.sent / self.fps) * 1_000_000))
            self.sent += 1
            await asyncio.sleep(max(0, start + self.sent / self.fps - time.monotonic()))


class Tmpfs:
    """A small tmpfs mounted at `path` for the test's lifetime (unmounted in teardown, lazily if
    something still holds it)."""

    def __init__(self, path, size, options=""):
        os.makedirs(path, exist_ok=True)
        self.path = path
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "tmpfs", path], check=True)

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def unmount(self):
        if subprocess.run(["umount", self.path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", self.path], capture_output=True)


# MARK: 1. The recordings disk fills up

@needs_root
def test_recordings_disk_full_fails_that_egress_with_no_space_left_while_the_room_another_recording_and_new_joins_go_on(workdir):
    """The recordings directory's `full/` is a 2 MB tmpfs with all but ~150 KB taken by a filler
    file; `ok/` is on the ordinary disk. A noisy VP8 camera is recorded into both at once."""
    full = Tmpfs(os.path.join(workdir, "recordings", "full"), "2m")
    try:
        with open(os.path.join(full.path, "filler"), "wb") as f:
            f.write(b"\0" * (full.free_bytes() - 150 * 1024))
        room_free = full.free_bytes()
        server = SluiceServer(workdir).start()
        try:
            figures = asyncio.run(_disk_full(server, full))
            assert server.alive(), "sluice died:\n" + server.read_log()
        finally:
            server.stop()
        log = server.full_log()
        assert "Fatal error" not in log and "Backtrace" not in log, log[-4000:]
    finally:
        full.unmount()
    print(f"\nfree on the small disk before: {room_free} bytes; " + "; ".join(f"{k}: {v}" for k, v in figures.items()))


async def viewer(server, identity):
    """A subscriber counting decoded frames; its handler is in place before it joins."""
    v = Viewer(rtc.Room())
    await asyncio.wait_for(v.room.connect(server.ws_url, token(identity, "studio", can_publish=False)), 20)
    return v


async def _disk_full(server, full):
    lk = lkapi(server)
    alice = await connect(server, "alice", "studio")
    bob = await viewer(server, "bob")
    pattern, tone = NoisePattern(320, 240), Tone()
    video = await publish_camera(alice, pattern, rtc.VideoCodec.VP8)
    await publish_audio(alice, tone)
    sending = asyncio.gather(pattern.run(40), tone.run(40))
    carol = None
    try:
        await asyncio.sleep(1.5)
        # The viewer's frame rate before any recording: noise at the encoder's bitrate makes
        # libwebrtc drop frames, so the rate after the failure is judged against this one.
        before_start = bob.frames["camera"]
        await asyncio.sleep(3)
        rate_before = (bob.frames["camera"] - before_start) / 3
        doomed = await lk.egress.start_track_egress(api.TrackEgressRequest(
            room_name="studio", track_id=video.sid, file=api.DirectFileOutput(filepath="full/camera.webm")))
        healthy = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="studio", identity="alice", file_outputs=[api.EncodedFileOutput(filepath="ok/alice.webm")]))
        started = time.monotonic()
        failed = await wait_for_async(lambda: egress_status(lk, doomed.egress_id),
                                      lambda e: e.status == EGRESS_FAILED, 30)
        failed_after = time.monotonic() - started
        info = await egress_status(lk, doomed.egress_id)
        assert failed, info
        assert "no space left" in info.error.lower(), info.error
        assert info.ended_at > 0, info

        # The other recording, the viewer and the room carry on.
        other = await egress_status(lk, healthy.egress_id)
        assert other.status == EGRESS_ACTIVE, other
        before = bob.frames["camera"]
        await asyncio.sleep(3)
        rate_after = (bob.frames["camera"] - before) / 3
        assert rate_after > 0 and rate_after >= 0.5 * rate_before, (rate_before, rate_after)

        # A new participant joins and receives media.
        carol = await viewer(server, "carol")
        assert await wait_for(lambda: carol.frames["camera"] >= 10, 15), carol.frames
        rooms = (await lk.room.list_rooms(api.ListRoomsRequest(names=["studio"]))).rooms
        assert rooms and rooms[0].num_participants == 3, rooms

        done = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=healthy.egress_id))
        assert done.status == EGRESS_COMPLETE, done
        path = done.file_results[0].filename
        codecs, probed = probe(path)
        assert codecs == ["opus", "vp8"], codecs
        duration = float(probed["format"].get("duration", "nan"))
        assert duration > failed_after + 3, (duration, failed_after)
        return {
            "doomed egress FAILED after": f"{failed_after:.1f} s",
            "error": info.error,
            "bytes it wrote": os.path.getsize(os.path.join(full.path, "camera.webm")),
            "viewer fps before recording / after the failure": f"{rate_before:.1f} / {rate_after:.1f}",
            "new joiner frames": carol.frames["camera"],
            "other recording": f"{os.path.basename(path)} {codecs} {duration:.1f} s {done.file_results[0].size} bytes COMPLETE",
        }
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await bob.close()
        if carol:
            await carol.close()
        await alice.disconnect()
        await lk.aclose()


# MARK: 2. The database cannot be opened at start

def _serve_expecting_failure(workdir, storage_path, timeout=30):
    """Starts `sluice serve` with `storage_path`; returns (exit code, stderr, seconds taken)."""
    config = os.path.join(workdir, "bad-storage.yaml")
    with open(config, "w") as f:
        f.write(f"port: {free_port()}\nbind_addresses: [127.0.0.1]\nkeys:\n  {API_KEY}: {API_SECRET}\n"
                f"storage:\n  path: {storage_path}\nrecordings:\n  path: {workdir}/recordings\n")
    started = time.monotonic()
    out = subprocess.run([sluice_binary(), "serve", "--config", config], capture_output=True, text=True,
                         timeout=timeout, cwd=workdir)
    return out.returncode, out.stderr, time.monotonic() - started


def _assert_clear_failure(code, stderr, *words):
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    assert code > 0, (code, stderr)  # an exit, not a signal (a crash is negative here)
    assert "Fatal error" not in stderr and "Backtrace" not in stderr and "Crash" not in stderr, stderr
    assert re.match(r"^sluice: cannot open the database ", last), stderr
    for word in words:
        assert word in last.lower(), (word, last)
    return last


@needs_root
def test_database_on_a_read_only_disk_exits_1_with_one_line_naming_the_path(workdir):
    ro = Tmpfs(os.path.join(workdir, "ro"), "1m", ",ro")
    try:
        code, stderr, took = _serve_expecting_failure(workdir, f"{ro.path}/sluice.sqlite")
    finally:
        ro.unmount()
    last = _assert_clear_failure(code, stderr, "read-only")
    assert f"{ro.path}/sluice.sqlite" in last and code == 1, (code, last)
    print(f"\nexit {code} after {took:.1f} s: {last}")


def test_database_under_a_path_that_cannot_be_a_directory_exits_1_with_one_line(workdir):
    blocker = os.path.join(workdir, "not-a-dir")
    open(blocker, "w").close()
    code, stderr, took = _serve_expecting_failure(workdir, f"{blocker}/state/sluice.sqlite")
    last = _assert_clear_failure(code, stderr, "not a directory")
    assert code == 1, code
    print(f"\nexit {code} after {took:.1f} s: {last}")


def test_database_locked_by_another_process_exits_1_with_database_is_locked(workdir):
    path = os.path.join(workdir, "locked.sqlite")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE squatter (x)")
    holder.execute("BEGIN EXCLUSIVE")  # held until the test ends: nobody else may read or write
    try:
        code, stderr, took = _serve_expecting_failure(workdir, path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    last = _assert_clear_failure(code, stderr, "locked")
    assert code == 1 and took < 20, (code, took)
    print(f"\nexit {code} after {took:.1f} s: {last}")


def test_database_that_is_not_sqlite_exits_1_with_one_line(workdir):
    path = os.path.join(workdir, "garbage.sqlite")
    with open(path, "wb") as f:
        f.write(b"this is not a database, it is a shopping list\n" * 100)
    code, stderr, took = _serve_expecting_failure(workdir, path)
    last = _assert_clear_failure(code, stderr, "not a database")
    assert code == 1, code
    print(f"\nexit {code} after {took:.1f} s: {last}")


# MARK: 3. The webhook receiver goes away for a while

class FlakyReceiver:
    """A webhook endpoint on a fixed port that can be closed (connections refused) and reopened."""

    def __init__(self):
        self.port = free_port()
        self.got = queue.Queue()
        self.httpd = None

    def open(self):
        got = self.got

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                got.put((time.monotonic(), body, self.headers.get("Authorization")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def _metric(server, name):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return 0.0


def test_webhook_receiver_down_for_25_s_gets_every_event_after_it_returns_and_a_full_queue_drops_the_oldest_counted_and_logged(workdir):
    receiver = FlakyReceiver()  # closed: connections refused
    metrics_port = free_port()
    server = SluiceServer(workdir, extra_config=(
        f"prometheus_port: {metrics_port}\n"
        "webhook:\n  api_key: devkey\n  queue_size: 8\n  urls:\n"
        f"    - http://127.0.0.1:{receiver.port}/hook\n"))
    server.metrics_port = metrics_port
    server.start()
    verifier = api.WebhookReceiver(api.TokenVerifier(API_KEY, API_SECRET))
    try:
        async def make_rooms(names):
            lk = lkapi(server)
            try:
                for name in names:
                    await lk.room.create_room(api.CreateRoomRequest(name=name))
            finally:
                await lk.aclose()

        # Phase 1: 3 events while the receiver is down; they must wait, not be lost.
        down_at = time.monotonic()
        asyncio.run(make_rooms(["down-1", "down-2", "down-3"]))
        time.sleep(25)
        failed_while_down = _metric(server, "sluice_webhook_failed_attempts_total")
        assert receiver.got.empty()
        receiver.open()
        up_at = time.monotonic()
        got = [receiver.got.get(timeout=20) for _ in range(3)]
        events = [verifier.receive(body, auth) for _, body, auth in got]
        assert [(e.event, e.room.name) for e in events] == [("room_started", f"down-{i}") for i in (1, 2, 3)], events
        first_after = got[0][0] - up_at
        assert first_after < 12, first_after  # backoff capped well under the outage

        # Phase 2: down again, 20 events into a queue of 8: the oldest are dropped, counted and logged
        # (11 or 12: the first may already have left the queue for its first attempt).
        receiver.close()
        asyncio.run(make_rooms([f"burst-{i:02}" for i in range(20)]))
        assert wait_for_sync(lambda: _metric(server, "sluice_webhook_dropped_total") >= 11, 10)
        dropped = _metric(server, "sluice_webhook_dropped_total")
        time.sleep(3)
        receiver.open()
        got = []
        while True:
            try:
                got.append(receiver.got.get(timeout=15 if not got else 4))
            except queue.Empty:
                break
        names = [verifier.receive(body, auth).room.name for _, body, auth in got]
        # The one being retried when the burst came is delivered too (it had left the queue).
        assert names[-8:] == [f"burst-{i:02}" for i in range(12, 20)], names
        assert len(names) in (8, 9) and len(names) + dropped == 20, (names, dropped)
        log = server.full_log()
        assert "webhook queue full" in log, log[-2000:]
        assert server.alive()
    finally:
        receiver.close()
        server.stop()
    print(f"\nreceiver down {up_at - down_at:.1f} s: {int(failed_while_down)} failed attempts, "
          f"then all 3 events delivered, the first {first_after:.1f} s after it came back; "
          f"burst of 20 into a queue of 8: {int(dropped)} dropped (metric), {len(names)} delivered: {names[0]}..{names[-1]}")


def wait_for_sync(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def test_server_paused_for_5_s_keeps_every_viewer_in_its_session_and_after_12_s_they_rejoin_and_play(workdir):
    """The whole server stops (SIGSTOP: a stalled VM, a swapped-out process) for 5 s and later for
    12 s while a Python SDK host publishes and three Python SDK viewers (their own processes,
    Interop/lk_viewer.py) watch. After 5 s every viewer decodes video again at once, in the same
    session (libnice's checks and consent carry on over the same path; nobody left the room).
    After 12 s the SDK has given up on the connection and its resume times out against the
    stopped server, so it joins again: video is back within seconds."""
    import json
    import signal
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    server = SluiceServer(workdir).start()
    resumed, logs = {}, {}
    try:
        async def go():
            host = await connect(server, "host", "stall")
            pattern, tone = VideoPattern(320, 240, (200, 40, 40), fps=15), Tone()
            await publish_video(host, "camera", 1, pattern)
            await publish_audio(host, tone)
            sending = [asyncio.ensure_future(pattern.run(90)), asyncio.ensure_future(tone.run(90))]
            viewers = [await asyncio.create_subprocess_exec(
                sys.executable, os.path.join(here, "lk_viewer.py"), server.ws_url, token(f"viewer{i}", "stall", can_publish=False),
                "45", stdout=asyncio.subprocess.PIPE) for i in range(3)]
            await asyncio.sleep(8)
            for seconds in (5, 12):
                logs[seconds] = server.full_log()
                os.kill(server.proc.pid, signal.SIGSTOP)
                await asyncio.sleep(seconds)
                os.kill(server.proc.pid, signal.SIGCONT)
                resumed[seconds] = time.time()
                await asyncio.sleep(10)
            outs = [json.loads((await asyncio.wait_for(v.communicate(), 60))[0].decode().splitlines()[-1]) for v in viewers]
            for task in sending:
                task.cancel()
            await host.disconnect()
            return outs

        outs = asyncio.run(go())
        alive = server.alive()
    finally:
        server.stop()
    assert alive, server.read_log()
    for seconds, at in resumed.items():
        back = [next((t - at for t in o["times"] if t > at), None) for o in outs]
        print(f"\nafter a {seconds} s pause: first video frame at each viewer {[b and round(b, 2) for b in back]} s")
        assert all(b is not None and b < 8 for b in back), (seconds, back)
    print(f"frames decoded per viewer: {[o['frames'] for o in outs]}")
    # Between the two pauses (the 5 s one included) nobody left or joined again.
    between = logs[12][len(logs[5]):]
    rejoins = [line for line in between.splitlines() if "participant left" in line or "participant joined" in line]
    assert not rejoins, rejoins
