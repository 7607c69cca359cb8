"""LiveKit's browser SDK (livekit-client, 2.15.15 and 2.18.10) in headless Chromium against Sluice.

The pages are served from their own HTTP server on another port than Sluice, i.e. another
origin, as real web apps are, so every HTTP answer they read goes through CORS. Per bundle:
a host page publishes Chromium's fake camera (1280x720, simulcast) and microphone; a viewer page
(base URL with a path prefix and trailing slash) and a Python `livekit` viewer (a prefix without
one) decode both; the viewer page switches LOW -> HIGH and survives its signalling connection
being cut. 2.18.10 connects through `/rtc/v1` with one peer connection; told
`singlePeerConnection: false`, through `/rtc` with two; against a server with
`rtc.single_peer_connection: false`, it falls back from `/rtc/v1` to `/rtc`. Screenshots go to
the test output directory.

Chromium, chromedriver and selenium come from scripts/deps.sh (Debian + PyPI); the bundles from
shared/clients beside the repository (see shared/clients/README.md).
"""
import asyncio
import functools
import http.server
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.parse

import pytest
from livekit import api, rtc

from conftest import API_KEY, API_SECRET, REPO, SluiceServer, free_port
from lk_rtc import token

CLIENTS = os.path.join(os.path.dirname(REPO), "shared", "clients")
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web", "lk_page.html")
OUTPUT = os.environ.get("SLUICE_TEST_OUTPUT") or os.path.join(REPO, ".build", "test-output", "browser")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# shared/ORACLES.md's flags: fake devices, no permission prompts, no throttling of pages that
# are not in front (two windows share one headless browser).
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  "--autoplay-policy=no-user-gesture-required", "--disable-background-timer-throttling",
                  "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
                  "--disable-dev-shm-usage", "--window-size=1100,800"]
MIN_FRAMES = 60


def bundle(version):
    path = os.path.join(CLIENTS, f"livekit-client-{version}.umd.js")
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: the tests expect shared/ beside the repository")
    return path


class PageServer:
    """Static files on their own port: the pages' origin, which is not Sluice's."""

    def __init__(self, versions):
        self.dir = tempfile.mkdtemp(prefix="sluice-pages-")
        shutil.copy(PAGE, os.path.join(self.dir, "lk_page.html"))
        for v in versions:
            os.symlink(bundle(v), os.path.join(self.dir, f"livekit-client-{v}.umd.js"))

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), functools.partial(Quiet, directory=self.dir))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def origin(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium missing: run scripts/deps.sh test")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium/chromedriver missing: run scripts/deps.sh test")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    return driver


class Page:
    """One window of the browser; `state` reads the page's window.state."""

    def __init__(self, driver, handle, name):
        self.driver, self.handle, self.name = driver, handle, name

    def js(self, script, *args):
        self.driver.switch_to.window(self.handle)
        return self.driver.execute_script(script, *args)

    def js_async(self, script, *args):
        self.driver.switch_to.window(self.handle)
        return self.driver.execute_async_script(script, *args)

    def state(self):
        return self.js("return window.state")

    def console(self):
        self.driver.switch_to.window(self.handle)
        try:
            return [e["message"] for e in self.driver.get_log("browser")][-30:]
        except Exception as e:  # the log is only diagnostics
            return [f"(no console log: {e})"]


def open_page(driver, name, pages, version, url, tok, room, role, first=False, extra=None):
    query = urllib.parse.urlencode({"bundle": f"livekit-client-{version}.umd.js", "url": url, "token": tok,
                                    "role": role, "room": room, **(extra or {})})
    if not first:
        driver.switch_to.new_window("window")
    driver.get(f"{pages.origin}/lk_page.html?{query}")
    return Page(driver, driver.current_window_handle, name)


def wait(pages, what, predicate, timeout, interval=0.5):
    """Polls every page's state until `predicate(states)` holds; fails with every state on timeout."""
    deadline = time.monotonic() + timeout
    states = {}
    while True:
        states = {p.name: p.state() for p in pages}
        for s in states.values():
            if s.get("phase") == "failed":
                pytest.fail(f"{what}: a page failed: {json.dumps(states, indent=1)}")
        if predicate(states):
            return states
        if time.monotonic() > deadline:
            logs = {p.name: p.console() for p in pages}
            pytest.fail(f"{what}: not within {timeout}s\nstates: {json.dumps(states, indent=1)}\nconsole: {json.dumps(logs, indent=1)}")
        time.sleep(interval)


class PythonViewer:
    """A `livekit` (Rust SDK) viewer on its own event loop in a thread, counting decoded frames
    per kind (livekit-client publishes its tracks with empty names, so not by name)."""

    def __init__(self, url, tok):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.decoded = {"video": 0, "audio": 0}
        self.sizes = set()
        self.tasks = []

        async def connect():
            # Made on the viewer's loop: the Room binds its tasks to the loop it is created on.
            room = rtc.Room()
            room.on("track_subscribed", self._subscribed)
            await asyncio.wait_for(room.connect(url, tok), 30)
            return room
        self.room = self.call(connect(), 40)

    def _subscribed(self, track, publication, participant):
        async def read():
            video = track.kind == rtc.TrackKind.KIND_VIDEO
            async for event in (rtc.VideoStream(track) if video else rtc.AudioStream(track)):
                self.decoded["video" if video else "audio"] += 1
                if video:
                    self.sizes.add((event.frame.width, event.frame.height))
        self.tasks.append(asyncio.ensure_future(read()))

    def call(self, coroutine, timeout):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def frames(self):
        """Decoded frames per kind, the number of other participants, the frame sizes seen."""
        async def read():
            return dict(self.decoded), len(self.room.remote_participants), sorted(self.sizes)
        return self.call(read(), 10)

    def close(self):
        async def close():
            for task in self.tasks:
                task.cancel()
            await self.room.disconnect()
        try:
            self.call(close(), 15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def admin_token(room):
    return api.AccessToken(API_KEY, API_SECRET).with_identity("admin") \
        .with_grants(api.VideoGrants(room_admin=True, room=room)).to_jwt()


async def participant_count(server, room):
    lk = api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)
    try:
        parts = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
        return sorted(p.identity for p in parts.participants)
    finally:
        await lk.aclose()


def media_of(state, identity, kind):
    return (state.get("media") or {}).get(f"{identity}/{kind}") or {}


def audio_frames(stats):
    """10 ms frames the browser really decoded (NetEq's concealment does not count)."""
    return ((stats.get("totalSamplesReceived") or 0) - (stats.get("concealedSamples") or 0)) // 480


class TCPProxy:
    """Forwards TCP connections to Sluice's port; `cut()` closes the ones open now, as a network
    drop would (the page's signalling WebSocket goes through it; media does not)."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open = []
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.open.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            pairs, self.open = self.open, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        self.cuts += len(pairs)
        return len(pairs)

    def close(self):
        self.listener.close()
        self.cut()


# Each round: which bundle, how it is told to connect, what Sluice serves, and what must follow.
ROUNDS = {
    # livekit-client 2.15: /rtc, two peer connections. It notices a cut WebSocket only by its
    # ping timeout (the one the JoinResponse gives), while its connection check gives up on the
    # room after about 12 s: Sluice tells clients 7 s (SignalSession.clientPingTimeout).
    "2.15.15": dict(version="2.15.15", single=True, v1_served=True, path="/rtc", pcs=2, full=True, cut=True),
    # 2.18.10 as it comes: /rtc/v1, one peer connection.
    "2.18.10": dict(version="2.18.10", single=True, v1_served=True, path="/rtc/v1", pcs=1, full=True, cut=True),
    # 2.18.10 told singlePeerConnection: false: /rtc, two.
    "2.18.10-dual": dict(version="2.18.10", single=False, v1_served=True, path="/rtc", pcs=2, full=False),
    # 2.18.10 against a server with rtc.single_peer_connection: false: /rtc/v1 refused with the
    # 404 that makes it fall back to /rtc (two peer connections).
    "2.18.10-v1-off": dict(version="2.18.10", single=True, v1_served=False, path="/rtc", pcs=2, full=False),
}


@pytest.mark.parametrize("name", list(ROUNDS))
def test_browser_sdk_publishes_and_views(workdir, name):
    """Full rounds: host page + viewer page (through a TCP proxy that is cut later) + Python
    viewer, LOW -> HIGH, who sees whom, CORS reads, a cut signalling connection that must end in
    Reconnected with frames still coming. Short rounds: host + viewer page and how they connected."""
    case = ROUNDS[name]
    version, full = case["version"], case["full"]
    started = time.monotonic()
    config = f"rtc:\n  single_peer_connection: {'true' if case['v1_served'] else 'false'}\n"
    server = SluiceServer(workdir, config).start()
    room = f"web-{name.replace('.', '-')}"
    pages = PageServer([version])
    driver = python_viewer = proxy = None
    try:
        driver = start_browser()
        # The host connects with a plain base URL; the viewer page as an app behind a proxy
        # would, with a path prefix and a trailing slash (the SDK appends rtc, rtc/v1, validate).
        # In full rounds the viewer's TCP goes through a proxy we can cut.
        proxy = TCPProxy(server.port) if case.get("cut") else None
        viewer_base = f"ws://127.0.0.1:{proxy.port}" if proxy else server.ws_url
        extra = {} if case["single"] else {"single": "0"}
        host = open_page(driver, "host", pages, version, server.ws_url, token("host", room, can_publish=True),
                         room, "host", first=True, extra=extra)
        viewer = open_page(driver, "viewer", pages, version, viewer_base + "/some/prefix/",
                           token("viewer", room, can_publish=False), room, "viewer", extra=extra)
        both = [host, viewer]
        states = wait(both, "pages loaded the bundle", lambda s: all(x.get("version") for x in s.values()), 30)
        assert {s["version"] for s in states.values()} == {version}

        wait(both, "host published, viewer connected",
             lambda s: s["host"]["phase"] == "published" and s["viewer"]["phase"] == "connected", 60)
        if full:
            # The Rust SDK through a prefixed base URL: its socket upgrade takes SignallingChannel's
            # path, not the router's.
            python_viewer = PythonViewer(server.ws_url + "/some/prefix", token("py-viewer", room, can_publish=False))

        # Media: the viewer page (and the Python viewer) decode the host's video and audio.
        def decoding(s):
            v = s["viewer"]
            return (media_of(v, "host", "video").get("framesDecoded", 0) > MIN_FRAMES
                    and audio_frames(media_of(v, "host", "audio")) > MIN_FRAMES)
        states = wait(both, "viewer page decodes video and audio", decoding, 60)
        video = media_of(states["viewer"], "host", "video")
        audio = media_of(states["viewer"], "host", "audio")
        print(f"\nlivekit-client {version} ({name}): camera {states['host'].get('camera')}")
        print(f"viewer page decoded {video['framesDecoded']} video frames ({video['frameWidth']}x{video['frameHeight']}), "
              f"{audio_frames(audio)} audio frames of 10 ms (energy {audio.get('totalAudioEnergy')})")
        assert states["host"]["camera"] == {"width": 1280, "height": 720}
        # Sluice's answer gave the browser's camera an RTX stream on every simulcast layer
        # (issue #23: publishers repair on RTX, unwrapped on arrival).
        outbound = states["host"].get("cameraOutbound") or []
        print(f"host page camera outbound-rtp: {outbound}")
        assert outbound and all(o["rtxSsrc"] for o in outbound), outbound
        assert (audio.get("totalAudioEnergy") or 0) > 0, "the fake microphone beeps: silence means nothing was decoded"
        if full:
            deadline = time.monotonic() + 45
            while True:
                py_frames, py_remote, py_sizes = python_viewer.frames()
                if py_frames.get("video", 0) > MIN_FRAMES and py_frames.get("audio", 0) > MIN_FRAMES:
                    break
                assert time.monotonic() < deadline, f"Python viewer decoded only {py_frames}"
                time.sleep(0.5)
            print(f"Python viewer decoded {py_frames.get('video')} video frames {py_sizes}, {py_frames.get('audio')} audio frames")

            # Who is there: each page sees every other participant, and Sluice agrees.
            everyone = asyncio.run(participant_count(server, room))
            states = wait(both, "pages see the others", lambda s: all(x["remote"] == len(everyone) - 1 for x in s.values()), 20)
            _, py_remote, _ = python_viewer.frames()
            print(f"participants {everyone}; host page sees {states['host']['remote']} others "
                  f"{states['host']['remoteIdentities']}, viewer page {states['viewer']['remote']}, Python viewer {py_remote}")
            assert everyone == ["host", "py-viewer", "viewer"]
            assert states["host"]["remoteIdentities"] == ["py-viewer", "viewer"]
            assert states["viewer"]["remoteIdentities"] == ["host", "py-viewer"]
            assert py_remote == 2

            # Simulcast: LOW then HIGH, and the decoded width follows.
            assert viewer.js("return window.setQuality('LOW')") == 1
            states = wait(both, "viewer on LOW", lambda s: 0 < (media_of(s["viewer"], "host", "video").get("frameWidth") or 0) <= 320, 30)
            low = media_of(states["viewer"], "host", "video")
            assert viewer.js("return window.setQuality('HIGH')") == 1
            states = wait(both, "viewer on HIGH", lambda s: (media_of(s["viewer"], "host", "video").get("frameWidth") or 0) >= 1280, 30)
            high = media_of(states["viewer"], "host", "video")
            print(f"viewer page LOW -> HIGH: frameWidth {low['frameWidth']}x{low['frameHeight']} -> "
                  f"{high['frameWidth']}x{high['frameHeight']} (frames decoded {low['framesDecoded']} -> {high['framesDecoded']})")
            assert high["framesDecoded"] > low["framesDecoded"]
            if name == "2.18.10":
                # 20 switches in a row (issue #23): each lands, and the page never waits more
                # than 250 ms for a presented frame (requestVideoFrameCallback times).
                driver.set_script_timeout(150)
                result = viewer.js_async("window.switchMany(20).then(arguments[arguments.length - 1])")
                print(f"viewer page: 20 switches LOW<->HIGH in {result['seconds']:.1f} s, {result['frames']} frames presented, "
                      f"longest gap {result['gap']:.0f} ms; per switch (ms): "
                      + ", ".join("-" if t is None else f"{t:.0f}" for t in result["times"]))
                assert all(t is not None for t in result["times"]), result["times"]
                assert result["gap"] < 250, result

        # How they connected: sockets, validate fetches, peer connections.
        for who, s in states.items():
            print(f"{who}: sockets {s['sockets']}; fetches {s['fetches']}; "
                  f"peer connections created {s['pcsCreated']}, open {s['pcsOpen']} {s['pcStates']}")
            prefix = "/some/prefix" if who == "viewer" else ""
            http_base = server.http_url if who == "host" or not proxy else f"http://127.0.0.1:{proxy.port}"
            assert s["sockets"][-1].endswith(f"{prefix}{case['path']}"), s["sockets"]
            assert s["pcsOpen"] == case["pcs"], s["pcStates"]
            # A viewer that publishes nothing leaves its publisher connection (dual-PC) unused.
            live = [x for x in s["pcStates"] if x != "closed"]
            assert live == ["connected"] * case["pcs"] if who == "host" else "connected" in live, s["pcStates"]
            if version == "2.18.10" and case["single"]:
                assert s["sockets"][0].endswith(f"{prefix}/rtc/v1"), s["sockets"]
            else:
                assert all(x.endswith(f"{prefix}/rtc") for x in s["sockets"]), s["sockets"]
            if version == "2.18.10" and case["single"] and not case["v1_served"]:
                assert {"url": f"{http_base}{prefix}/rtc/v1/validate", "status": 404} in s["fetches"], s["fetches"]
            if case["path"] == "/rtc/v1":
                assert s["pcsCreated"] == 1, s["pcsCreated"]
                assert not s["fetches"], s["fetches"]

        # What a page on another origin can read from Sluice's plain HTTP answers.
        probe = host.js_async("window.probe(arguments[0], arguments[1]).then(arguments[arguments.length - 1])",
                              server.http_url, admin_token(room))
        print(f"page on {pages.origin} read from {server.http_url}: {json.dumps(probe)}")
        assert probe["badToken"]["status"] == 401 and probe["badToken"]["text"].startswith("invalid token"), probe
        if case["v1_served"]:
            assert probe["v1"]["status"] == 401 and probe["v1"]["text"].startswith("invalid token"), probe
        else:
            assert probe["v1"]["status"] == 404 and "requested room does not exist" not in probe["v1"]["text"], probe
        assert probe["twirp"]["status"] == 200, probe
        assert probe["whip"]["status"] == 401 and probe["whip"]["text"], probe

        if proxy:
            # Cut the viewer page's TCP (its signalling WebSocket): it must resume, and frames
            # keep coming over the same peer connection(s).
            before = media_of(states["viewer"], "host", "video")["framesDecoded"]
            sockets_before = len(states["viewer"]["sockets"])
            cut_at = time.monotonic()
            cut = proxy.cut()
            assert cut >= 1, "the viewer page had no connection through the proxy"
            states = wait(both, "viewer page Reconnected after its WebSocket was cut, frames still coming",
                          lambda s: s["viewer"]["reconnected"] >= 1
                          and media_of(s["viewer"], "host", "video").get("framesDecoded", 0) > before + MIN_FRAMES, 45)
            v = states["viewer"]
            after = media_of(v, "host", "video")["framesDecoded"]
            print(f"cut {cut} proxied connection(s): viewer page Reconnecting x{v['reconnecting']}, Reconnected x{v['reconnected']} "
                  f"within {time.monotonic() - cut_at:.1f} s; frames {before} -> {after}; sockets {v['sockets'][sockets_before:]}; "
                  f"peer connections open {v['pcsOpen']} {v['pcStates']}")
            assert v["sockets"][sockets_before:] and all(x.endswith(f"/some/prefix{case['path']}") for x in v["sockets"][sockets_before:])
            assert v["pcsOpen"] == case["pcs"] and v["pcsCreated"] == states["viewer"]["pcsCreated"]
            assert v["phase"] != "failed" and not v.get("disconnected"), v

        if full:
            os.makedirs(OUTPUT, exist_ok=True)
            for page in both:
                page.js("return 1")  # brings its window forward for the capture
                path = os.path.join(OUTPUT, f"livekit-client-{name}-{page.name}.png")
                driver.save_screenshot(path)
                print(f"screenshot: {path}")
        print(f"round took {time.monotonic() - started:.1f} s")
        assert not [e for s in states.values() for e in s["errors"]], [s["errors"] for s in states.values()]
        finished = True
    finally:
        if not locals().get("finished"):
            print("sluice log (end):\n" + server.read_log())
        if python_viewer:
            python_viewer.close()
        if driver:
            driver.quit()
        if proxy:
            proxy.close()
        pages.close()
        alive = server.alive()
        server.stop()
    assert alive, "sluice died during the test:\n" + server.read_log()


def test_refused_upgrade_under_a_prefix_carries_cors(server):
    """The WebSocket path answers refusals itself (not the router): same status and CORS there."""
    origin = "http://127.0.0.1:1"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall((f"GET /some/prefix/rtc/v1?access_token=x HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                   f"Origin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    head = answer.split(b"\r\n\r\n")[0].decode()
    print(head)
    assert head.startswith("HTTP/1.1 401"), head  # a bad token; /rtc/v1 itself is served
    assert f"access-control-allow-origin: {origin}" in head.lower(), head


class WHIPEncoder:
    """aiortc publishing VP8 + Opus through WHIP, as OBS would, on its own loop in a thread."""

    def __init__(self, base, room, identity):
        from aiortc import RTCPeerConnection, RTCRtpSender
        import aiohttp
        from test_whip_whep import CountingAudio, CountingVideo, post_offer, token as whip_token
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.video, self.audio = CountingVideo(), CountingAudio()

        async def start():
            self.pc = RTCPeerConnection()
            t = self.pc.addTransceiver(self.video, direction="sendonly")
            t.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/VP8"])
            self.pc.addTransceiver(self.audio, direction="sendonly")
            async with aiohttp.ClientSession() as http:
                await post_offer(http, f"{base}/whip/{room}", whip_token(identity, room, publish=True), self.pc)
        asyncio.run_coroutine_threadsafe(start(), self.loop).result(30)

    def close(self):
        self.video.running = self.audio.running = False
        try:
            asyncio.run_coroutine_threadsafe(self.pc.close(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def test_browser_sdk_views_a_whip_publisher(server):
    """An OBS-style WHIP encoder (aiortc) goes live; livekit-client 2.18.10 in Chromium watches it as
    a participant of the room like any other."""
    room, version = "web-whip", "2.18.10"
    pages = PageServer([version])
    driver = encoder = None
    try:
        encoder = WHIPEncoder(server.http_url, room, "obs")
        driver = start_browser()
        viewer = open_page(driver, "viewer", pages, version, server.ws_url, token("viewer", room, can_publish=False),
                           room, "viewer", first=True)

        def decoding(s):
            v = s["viewer"]
            return (media_of(v, "obs", "video").get("framesDecoded", 0) > MIN_FRAMES
                    and audio_frames(media_of(v, "obs", "audio")) > MIN_FRAMES)
        states = wait([viewer], "viewer page decodes the WHIP publisher", decoding, 60)
        video = media_of(states["viewer"], "obs", "video")
        audio = media_of(states["viewer"], "obs", "audio")
        print(f"\nlivekit-client {version} viewing a WHIP publisher: {video['framesDecoded']} video frames "
              f"({video['frameWidth']}x{video['frameHeight']}), {audio_frames(audio)} audio frames of 10 ms; "
              f"encoder sent {encoder.video.sent} video frames")
        assert (video["frameWidth"], video["frameHeight"]) == (320, 240)
        sent0, got0 = encoder.video.sent, video["framesDecoded"]
        time.sleep(5)
        states = wait([viewer], "viewer page state", lambda s: True, 5)
        sent, got = encoder.video.sent - sent0, media_of(states["viewer"], "obs", "video")["framesDecoded"] - got0
        print(f"over 5 s: encoder sent {sent} frames, the page decoded {got} ({100.0 * got / sent:.1f}%)")
        assert got >= 0.9 * sent, (got, sent)
        assert states["viewer"]["remoteIdentities"] == ["obs"]
        assert not states["viewer"]["errors"], states["viewer"]["errors"]
    finally:
        if driver:
            driver.quit()
        if encoder:
            encoder.close()
        pages.close()
