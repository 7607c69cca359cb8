"""Prometheus metrics (#19): a real Prometheus (Debian's `prometheus`) scrapes Sluice's
`prometheus_port` during a LiveKit Python SDK room (a host with camera and microphone, three
viewers) and its query API answers with what the room is doing; `promtool check metrics` reads
the exposition."""
import asyncio
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from livekit import rtc

from conftest import SluiceServer, free_port
from lk_rtc import Tone, VideoPattern, Viewer, connect, publish_audio, publish_video, token, wait_for

# LiveKit's own names break Prometheus' naming lints (gauges ending in _total, a counter without
# it); dashboards query these names, so Sluice keeps them and promtool may flag these, and only these.
LIVEKIT_NAMES_PROMTOOL_FLAGS = {
    "livekit_packet_bytes", "livekit_participant_total", "livekit_room_total", "livekit_track_published_total",
}


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
        return r.read().decode()


def sample(text, name, **labels):
    """The value of one series in an exposition (labels must match exactly)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if found == {k: str(v) for k, v in labels.items()}:
            return float(m.group(3))
    raise AssertionError(f"no {name}{labels} in exposition")


class Prometheus:
    """Debian's prometheus, scraping one target every second, with its data in a temp dir."""

    def __init__(self, workdir, target_port):
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(self.dir)
        self.port = free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: sluice\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{target_port}']\n")
        self.log = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(
            [shutil.which("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready: " + open(os.path.join(self.dir, "log")).read()[-2000:])

    def query(self, expr):
        """An instant query's vector as {frozenset(labels without __name__): value}."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return {frozenset((k, v) for k, v in s["metric"].items() if k != "__name__"): float(s["value"][1])
                for s in body["data"]["result"]}

    def value(self, expr):
        result = self.query(expr)
        return next(iter(result.values())) if len(result) == 1 else None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


@pytest.mark.skipif(shutil.which("prometheus") is None or shutil.which("promtool") is None,
                    reason="Debian's prometheus package (scripts/deps.sh test) is not installed")
def test_prometheus_scrapes_a_room_with_a_host_and_three_viewers(workdir):
    metrics_port = free_port()
    server = SluiceServer(workdir, extra_config=f"prometheus_port: {metrics_port}\n").start()
    prom = Prometheus(workdir, metrics_port)
    try:
        asyncio.run(room_under_prometheus(server, prom, metrics_port))
    finally:
        prom.stop()
        alive = server.alive()
        server.stop()
    assert alive, "sluice died during the test:\n" + server.read_log()


async def room_under_prometheus(server, prom, metrics_port):
    # Before anyone joins: Prometheus sees the target and an empty server.
    assert await wait_for(lambda: prom.value('up{job="sluice"}') == 1, 15), prom.query("up")
    assert prom.value("livekit_participant_total") == 0

    host = await connect(server, "host", "metrics-room")
    camera, tone = VideoPattern(320, 240, (200, 30, 30)), Tone()
    await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, camera)
    await publish_audio(host, tone)
    viewers = []
    for i in range(3):
        viewer = Viewer(rtc.Room())
        await asyncio.wait_for(viewer.room.connect(server.ws_url, token(f"viewer-{i}", "metrics-room", can_publish=False)), 20)
        viewers.append(viewer)
    sending = asyncio.ensure_future(asyncio.gather(camera.run(12), tone.run(12)))

    # Prometheus' own view, through its HTTP query API.
    assert await wait_for(lambda: prom.value("livekit_participant_total") == 4, 15), prom.query("livekit_participant_total")
    by_kind = {dict(k)["kind"]: v for k, v in prom.query("sluice_participants").items()}
    signal_sessions = prom.value("sluice_signal_sessions")
    rooms = prom.value("livekit_room_total")
    tracks = {dict(k)["kind"]: v for k, v in prom.query("livekit_track_published_total").items()}
    await asyncio.sleep(2)
    first = prom.query("livekit_packet_total")
    await asyncio.sleep(4)
    second = prom.query("livekit_packet_total")
    rates = prom.query("rate(livekit_packet_total[3s])")
    bytes_out = prom.value('livekit_packet_bytes{direction="outgoing",transmission="initial"}')
    process = {name: prom.value(name) for name in
               ("process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total")}
    # Publisher packets dropped at a full receive queue (the worker fell behind): exported from
    # the start, 0 unless this shared machine starved the server.
    receive_drops = prom.value("sluice_receive_queue_drop_total")
    exposition = scrape(metrics_port)
    await sending

    key_in = frozenset({("direction", "incoming"), ("transmission", "initial"), ("instance", f"127.0.0.1:{metrics_port}"), ("job", "sluice")})
    key_out = key_in - {("direction", "incoming")} | {("direction", "outgoing")}
    print(f"\nprometheus: participants 4, by kind {by_kind}, rooms {rooms}, tracks {tracks}")
    print(f"packets incoming {first.get(key_in)} -> {second.get(key_in)}, outgoing {first.get(key_out)} -> {second.get(key_out)}; "
          f"rates {[(dict(k)['direction'], dict(k)['transmission'], round(v)) for k, v in rates.items()]}; bytes out {bytes_out}")
    print(f"process: {process}; receive-queue drops {receive_drops}")
    assert by_kind == {"livekit": 4, "whip": 0, "whep": 0, "hidden": 0}, by_kind
    assert signal_sessions == 4
    assert rooms == 1
    assert tracks == {"audio": 1, "video": 1}, tracks
    # 15 fps video plus 50 packets/s of Opus come in; three viewers get each of them.
    assert 0 < first[key_in] < second[key_in], (first, second)
    assert 0 < first[key_out] < second[key_out], (first, second)
    assert second[key_out] > 2 * second[key_in], second
    assert bytes_out > 0
    assert process["process_resident_memory_bytes"] > 10_000_000 and process["process_open_fds"] > 10
    assert process["process_cpu_seconds_total"] > 0
    assert receive_drops is not None and receive_drops >= 0, prom.query("sluice_receive_queue_drop_total")

    # promtool: the exposition parses; the only lint complaints are LiveKit's own names.
    check = subprocess.run(["promtool", "check", "metrics"], input=exposition.encode(), capture_output=True, timeout=30)
    output = (check.stdout + check.stderr).decode()
    print(f"promtool check metrics: exit {check.returncode}\n{output}")
    assert check.returncode in (0, 3), output  # 1 would be a parse error
    flagged = {line.split()[0] for line in output.splitlines() if line.strip()}
    assert flagged <= LIVEKIT_NAMES_PROMTOOL_FLAGS, flagged

    # Viewers leave: the gauge follows, and counters never go back (their DownTracks are gone).
    before = sample(scrape(metrics_port), "livekit_packet_total", direction="outgoing", transmission="initial")
    for viewer in viewers:
        await viewer.close()
    after_text = None
    async def host_alone():
        nonlocal after_text
        after_text = scrape(metrics_port)
        return sample(after_text, "livekit_participant_total") == 1
    deadline = time.monotonic() + 10
    while not await host_alone() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert sample(after_text, "livekit_participant_total") == 1
    assert sample(after_text, "livekit_packet_total", direction="outgoing", transmission="initial") >= before
    await host.disconnect()
