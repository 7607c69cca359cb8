"""The demo web app Sluice serves at /app/ (issue #15), driven in headless Chromium as a person
would use it: the broadcaster page goes live with Chromium's fake camera and microphone, two
player pages open and play, every page's viewer count follows (1 -> 2), the player switches
quality, and the broadcaster records through the Egress API to an MP4 that ffprobe/ffmpeg read.
Screenshots of both pages go to the browser tests' output directory.

The pages load livekit-client from `webapp.client_sdk`: here a bundle in shared/clients (a local
file, which Sluice serves itself). The tokens come from the app's dev endpoint.
"""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import REPO, SluiceServer
from test_browser_sdk import CLIENTS, OUTPUT, Page, start_browser

VERSION = "2.15.15"
ROOM = "webapp-demo"


def sdk_path(version=VERSION):
    path = os.path.join(CLIENTS, f"livekit-client-{version}.umd.js")
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: the tests expect shared/ beside the repository (see shared/clients/README.md)")
    return path


def webapp_config(**keys):
    lines = "".join(f"  {k}: {v}\n" for k, v in keys.items())
    return "webapp:\n" + lines


@pytest.fixture(params=[VERSION, "2.18.10"])
def webapp_server(request, workdir):
    """Sluice with the app on, serving the bundle of `request.param` itself (a local client_sdk).
    2.18.10 connects through /rtc/v1 (one peer connection), as it would against this server anywhere."""
    s = SluiceServer(workdir, webapp_config(enabled="true", client_sdk=sdk_path(request.param),
                                            allow_dev_tokens="true")).start()
    s.sdk_version = request.param
    yield s
    alive = s.alive()
    s.stop()
    assert alive, "sluice died during the test:\n" + s.read_log()


def http(url, data=None):
    """(status, body) of a GET, or of a POST when `data` is given; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def open_window(driver, url, name, first=False):
    if not first:
        driver.switch_to.new_window("window")
    driver.get(url)
    return Page(driver, driver.current_window_handle, name)


def wait(pages, what, predicate, timeout, interval=0.5):
    """Polls the pages' window.state (bounded) until `predicate(states)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        states = {p.name: p.state() or {} for p in pages}
        failed = [n for n, s in states.items() if s.get("phase") == "failed"]
        if failed:
            pytest.fail(f"{what}: {failed} failed: {json.dumps(states, indent=1)}")
        if predicate(states):
            return states
        if time.monotonic() > deadline:
            logs = {p.name: p.console() for p in pages}
            pytest.fail(f"{what}: not within {timeout}s\nstates: {json.dumps(states, indent=1)}\n"
                        f"console: {json.dumps(logs, indent=1)}")
        time.sleep(interval)


def text(page, element_id):
    return page.js(f"return document.getElementById('{element_id}').textContent")


def screenshot(driver, page, name, version):
    os.makedirs(OUTPUT, exist_ok=True)
    page.js("return 1")  # brings its window forward for the capture
    path = os.path.join(OUTPUT, f"webapp-{version}-{name}.png")
    driver.save_screenshot(path)
    print(f"screenshot: {path}")
    return path


def test_webapp_broadcast_watch_record(webapp_server):
    started = time.monotonic()
    server = webapp_server
    version = server.sdk_version
    driver = start_browser()
    try:
        host = open_window(driver, f"{server.http_url}/app/broadcast?room={ROOM}", "broadcaster", first=True)
        assert host.js("return window.LivekitClient && window.LivekitClient.version") == version
        assert host.js("return document.querySelector('script[src*=livekit]').getAttribute('src')") == "/app/livekit-client.umd.js"
        host.js("document.getElementById('goLive').click()")
        # Live and sending (dynacast: with nobody watching, livekit-client 2.18 sends no video yet,
        # so only packets are asked for here; the bitrate is checked once a player watches).
        states = wait([host], "broadcaster live and sending", lambda s: s["broadcaster"].get("phase") == "live"
                      and (s["broadcaster"].get("packetsSent") or 0) > 0, 45)
        assert states["broadcaster"]["viewers"] == 0 and text(host, "viewers") == "0"

        player = open_window(driver, f"{server.http_url}/app/watch?room={ROOM}", "player")
        both = [host, player]
        states = wait(both, "player plays", lambda s: (s["player"].get("video") or {}).get("framesDecoded", 0) > 30
                      and (s["player"].get("videoWidth") or 0) > 0 and s["player"].get("viewers") == 1
                      and s["broadcaster"].get("viewers") == 1, 45)
        first = states["player"]
        print(f"\nlivekit-client {version}; player 1: {first['video']['framesDecoded']} frames decoded, {first['video']['frameWidth']}x"
              f"{first['video']['frameHeight']} (video element {first['videoWidth']}x{first['videoHeight']}), "
              f"connection {first['connection']}, viewers shown {text(player, 'viewers')}")
        assert first["connection"] == "connected" and text(player, "connection") == "Connected"
        assert text(player, "viewers") == "1" and text(host, "viewers") == "1"
        sending = wait([host], "broadcaster sends video", lambda s: (s["broadcaster"].get("bitrate") or 0) > 100_000
                       and s["broadcaster"].get("layers"), 30)["broadcaster"]
        print(f"broadcaster with a viewer: {sending['bitrate']} bit/s, layers {sending['layers']}")

        # A second player: the first one's count (and the broadcaster's) goes 1 -> 2.
        second = open_window(driver, f"{server.http_url}/app/watch?room={ROOM}", "player2")
        everyone = [host, player, second]
        states = wait(everyone, "viewer counts reach 2", lambda s: all(x.get("viewers") == 2 for x in s.values()), 30)
        shown = {p.name: text(p, "viewers") for p in everyone}
        print(f"viewer counts after the second player: state {({n: s['viewers'] for n, s in states.items()})}, shown {shown}")
        assert shown == {"broadcaster": "2", "player": "2", "player2": "2"}
        wait([second], "second player plays", lambda s: (s["player2"].get("video") or {}).get("framesDecoded", 0) > 10, 30)

        # Reconnection: the SDK's own drill (its signalling socket closed under it); the player
        # shows Reconnecting, comes back, counts the reconnect and keeps playing.
        before = second.state()["video"]["framesDecoded"]
        second.js("window.room.simulateScenario('signal-reconnect')")
        states = wait(everyone, "second player reconnected", lambda s: s["player2"].get("reconnects", 0) >= 1
                      and s["player2"].get("connection") == "connected"
                      and s["player2"]["video"]["framesDecoded"] > before + 30, 30)
        back = states["player2"]
        print(f"player 2 connection states {back['connectionHistory']}, reconnects {back['reconnects']} "
              f"(shown {text(second, 'reconnects')!r}, label {text(second, 'connection')!r}), "
              f"frames {before} -> {back['video']['framesDecoded']}")
        assert any(s in ("reconnecting", "signalReconnecting") for s in back["connectionHistory"]), back["connectionHistory"]
        assert text(second, "connection") == "Connected" and text(second, "reconnects") == "1"
        assert [s["viewers"] for s in states.values()] == [2, 2, 2]

        # Quality: Low asks for the lowest simulcast layer, High for more than that.
        player.js("const q = document.getElementById('quality'); q.value = 'LOW'; q.dispatchEvent(new Event('change'))")
        low = wait([player], "player on Low", lambda s: 0 < (s["player"].get("video") or {}).get("frameWidth", 0) <= 320, 30)["player"]
        player.js("const q = document.getElementById('quality'); q.value = 'HIGH'; q.dispatchEvent(new Event('change'))")
        high = wait([player], "player on High", lambda s: (s["player"].get("video") or {}).get("frameWidth", 0) > 640, 30)["player"]
        print(f"player quality Low -> High: {low['video']['frameWidth']}x{low['video']['frameHeight']} -> "
              f"{high['video']['frameWidth']}x{high['video']['frameHeight']}")
        # Volume and mute act on the audio elements the page plays the broadcaster's microphone in.
        volume = player.js("const v = document.getElementById('volume'); v.value = '0.3'; v.dispatchEvent(new Event('input'));"
                           "document.getElementById('mute').click();"
                           "return [...document.querySelectorAll('#audio audio')].map(a => [a.volume, a.muted])")
        print(f"player audio elements (volume, muted) after volume 0.3 + mute: {volume}")
        assert volume and all(abs(v - 0.3) < 1e-6 and m for v, m in volume), volume

        # Recording from the broadcaster page: start, a few seconds, stop; the page names the file.
        host.js("document.getElementById('record').click()")
        states = wait([host], "recording started", lambda s: (s["broadcaster"].get("recording") or {}).get("egressId"), 20)
        record_started = time.monotonic()
        assert text(host, "record") == "Stop recording"
        time.sleep(5)
        screenshot(driver, host, "broadcast-recording", version)
        host.js("document.getElementById('record').click()")
        stop_clicked = time.monotonic()
        # The composite (1920x1080) closes its file within seconds even when this machine's browsers
        # leave its encoder behind: it skips frames rather than drawing each one late.
        states = wait([host], "recording stopped", lambda s: (s["broadcaster"].get("recording") or {}).get("filename"), 30)
        print(f"StopEgress clicked -> file named on the page: {time.monotonic() - stop_clicked:.1f} s")
        recorded_for = time.monotonic() - record_started
        recording = states["broadcaster"]["recording"]
        print(f"recording {recording} after {recorded_for:.1f} s; the page shows {text(host, 'recStatus')!r} {text(host, 'recFile')!r}")
        assert recording["status"] == "EGRESS_COMPLETE", recording
        path = recording["filename"]
        assert path.startswith(os.path.join(server.workdir, "recordings", "webapp")) and path.endswith(".mp4"), path
        assert text(host, "recFile") == os.path.basename(path)

        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                                          capture_output=True, text=True, check=True).stdout)
        video = [s for s in probe["streams"] if s["codec_type"] == "video"]
        audio = [s for s in probe["streams"] if s["codec_type"] == "audio"]
        duration = float(probe["format"]["duration"])
        print(f"ffprobe {os.path.basename(path)}: video {[(s['codec_name'], s['width'], s['height']) for s in video]}, "
              f"audio {[(s['codec_name'], s.get('sample_rate')) for s in audio]}, duration {duration:.2f} s, "
              f"{probe['format']['size']} bytes")
        assert len(video) == 1 and video[0]["codec_name"] == "h264", probe["streams"]
        assert duration > 2, duration
        decode = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, text=True)
        assert decode.returncode == 0 and decode.stdout + decode.stderr == "", decode.stderr

        stats = host.state()
        print(f"broadcaster outgoing: {stats['bitrate']} bit/s, layers {stats['layers']}, packets lost "
              f"{stats['packetsLost']} of {stats['packetsSent']}, fraction lost {stats['fractionLost']}; shown "
              f"{text(host, 'bitrate')!r}, {text(host, 'loss')!r}")
        assert stats["packetsSent"] > 0 and text(host, "bitrate").endswith("bit/s")

        screenshot(driver, host, "broadcast", version)
        screenshot(driver, player, "watch", version)

        # Screen share (Chromium's fake screen): the players switch to it, and back to the camera.
        assert player.state()["showing"] == "camera"
        host.js("document.getElementById('screen').click()")
        wait(everyone, "players show the screen share", lambda s: s["broadcaster"].get("screen") is True
             and s["player"].get("showing") == "screen_share" and s["player2"].get("showing") == "screen_share", 30)
        assert text(host, "screen") == "Stop sharing"
        host.js("document.getElementById('screen').click()")
        wait(everyone, "players back on the camera", lambda s: s["broadcaster"].get("screen") is False
             and s["player"].get("showing") == "camera", 30)
        print("screen share on -> both players showed it; off -> back on the camera")
        errors = {p.name: p.state().get("errors") for p in everyone}
        assert not any(errors.values()), errors
        print(f"took {time.monotonic() - started:.1f} s")
    finally:
        driver.quit()


def test_webapp_off_by_default(server):
    """Without a `webapp` block there is no /app/ and no token endpoint."""
    for path in ["/app", "/app/", "/app/broadcast", "/app/watch", "/app/livekit-client.umd.js"]:
        assert http(server.http_url + path)[0] == 404, path
    assert http(server.http_url + "/app/api/token", b'{"room":"r","identity":"i","role":"host"}')[0] == 404


def test_webapp_without_dev_mode_mints_no_tokens(workdir):
    """Enabled, but neither --dev nor allow_dev_tokens: the pages are served, the token endpoint is not."""
    s = SluiceServer(workdir, webapp_config(enabled="true", client_sdk="https://cdn.example.com/livekit-client.umd.js")).start()
    try:
        status, body = http(s.http_url + "/app/watch")
        assert status == 200 and '<script src="https://cdn.example.com/livekit-client.umd.js">' in body
        # A URL is loaded by the browser from there: Sluice serves no copy.
        assert http(s.http_url + "/app/livekit-client.umd.js")[0] == 404
        assert http(s.http_url + "/app/api/token", b'{"room":"r","identity":"i","role":"host"}')[0] == 404
    finally:
        s.stop()


def test_dev_mode_turns_the_webapp_and_its_tokens_on(workdir):
    s = SluiceServer(workdir, args=["--dev"]).start()
    try:
        status, body = http(s.http_url + "/app/")
        assert status == 200 and "/app/broadcast" in body
        status, body = http(s.http_url + "/app/api/token", b'{"room":"r","identity":"v","role":"viewer"}')
        assert status == 200, body
        answer = json.loads(body)
        assert answer["token"].count(".") == 2 and "recordToken" not in answer, answer
        assert http(s.http_url + "/app/api/token", b'{"room":"r","identity":"v","role":"admin"}')[0] == 400
    finally:
        s.stop()
