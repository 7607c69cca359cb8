"""Live room stats (/admin/stats) and the dashboard page (/admin/dashboard).

A Python `livekit` SDK host publishes simulcast camera (1280x720) + mic to three viewers, one of
them on LOW, while the host is recorded (participant egress). The stats endpoint must show the LOW
viewer receiving layer 0 at a bitrate within 20% of what the viewer's own libwebrtc counts
(inbound-rtp bytesReceived), and the dashboard, loaded in headless Chromium with an admin token,
must show the room, its 4 participants and the recording; its screenshot goes to the test output.
Jitter per published track and per subscription is checked against the viewer's own libwebrtc
figure, and the dashboard's link to the recording downloads the finished file (ffprobe reads it;
Range requests, tokens and paths checked).
"""
import asyncio
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from livekit import api, rtc

from conftest import API_KEY, API_SECRET
from lk_rtc import Tone, VideoPattern, connect, publish_audio, token, wait_for
from test_browser_sdk import OUTPUT, start_browser

ROOM = "stats"


def admin_token(**grants):
    return api.AccessToken(API_KEY, API_SECRET).with_identity("ops") \
        .with_grants(api.VideoGrants(**grants)).to_jwt()


def get_stats(server, bearer):
    request = urllib.request.Request(server.http_url + "/admin/stats", headers={"Authorization": "Bearer " + bearer})
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read())


def status_of(server, bearer):
    try:
        get_stats(server, bearer)
        return 200
    except urllib.error.HTTPError as e:
        return e.code


async def inbound_jitter_ms(track):
    """The viewer's own libwebrtc interarrival jitter for this track (inbound-rtp `jitter`, seconds)."""
    for stat in await track.get_stats():
        if stat.WhichOneof("stats") == "inbound_rtp":
            return stat.inbound_rtp.received.jitter * 1000
    return None


async def inbound_bytes(track):
    for stat in await track.get_stats():
        if stat.WhichOneof("stats") == "inbound_rtp":
            return stat.inbound_rtp.inbound.bytes_received
    return None


def test_stats_show_each_viewers_layer_and_bitrate_and_the_dashboard_shows_the_room(server):
    ops = admin_token(room_list=True, room_record=True)
    assert status_of(server, "") == 401
    assert status_of(server, token("nosy", ROOM, can_subscribe=True)) == 403

    async def live_room():
        host = await connect(server, "host", ROOM, can_publish=True)
        pattern, tone = VideoPattern(1280, 720, (30, 90, 200), fps=15), Tone()
        video = rtc.LocalVideoTrack.create_video_track("camera", pattern.source)
        await asyncio.wait_for(host.local_participant.publish_track(video, rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_CAMERA, simulcast=True, video_codec=rtc.VideoCodec.VP8)), 15)
        await publish_audio(host, tone)
        tasks = [asyncio.ensure_future(pattern.run(90)), asyncio.ensure_future(tone.run(90))]
        viewers, publications, tracks = [], {}, {}
        for name in ("low", "mid", "high"):
            room = rtc.Room()
            got = asyncio.get_running_loop().create_future()

            def on_track(track, publication, participant, got=got):
                if track.kind == rtc.TrackKind.KIND_VIDEO and not got.done():
                    got.set_result((track, publication))
            room.on("track_subscribed", on_track)
            await asyncio.wait_for(room.connect(server.ws_url, token(name, ROOM, can_publish=False)), 20)
            tracks[name], publications[name] = await asyncio.wait_for(got, 15)
            # Decoding keeps the receiver's stats moving as a real player would.
            tasks.append(asyncio.ensure_future(drain(rtc.VideoStream(tracks[name]))))
            viewers.append(room)
        publications["low"].set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_LOW)
        publications["high"].set_video_quality(rtc.VideoQuality.VIDEO_QUALITY_HIGH)
        lk = api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)
        egress = await lk.egress.start_participant_egress(api.ParticipantEgressRequest(
            room_name=ROOM, identity="host", file_outputs=[api.EncodedFileOutput(filepath="{room_name}/host.webm")]))
        return host, viewers, tasks, tracks, lk, egress

    async def drain(stream):
        async for _ in stream:
            pass

    # The room's clients live on their own loop in a thread, so they keep sending and decoding
    # while this test sleeps, polls and drives the browser.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coroutine, timeout=60):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    host, viewers, tasks, tracks, lk, egress = call(live_room())
    driver = None
    try:
        # The LOW viewer settles on layer 0 once the publisher's layers are up.
        def low_subscription():
            rooms = {r["room"]: r for r in get_stats(server, ops)["rooms"]}
            room = rooms.get(ROOM)
            if not room:
                return None, None
            people = {p["identity"]: p for p in room["participants"]}
            subs = [s for s in people.get("low", {}).get("subscriptions", []) if s["kind"] == "video"]
            return room, subs[0] if subs else None

        deadline = time.monotonic() + 30
        while True:
            room, sub = low_subscription()
            if sub and sub.get("layer") == 0 and sub["bitrateOut"] > 0:
                break
            assert time.monotonic() < deadline, f"LOW viewer's subscription: {sub}"
            time.sleep(0.5)
        print(f"\nroom {room['room']}: {len(room['participants'])} participants, {room['viewers']} viewers, "
              f"in {room['bitrateIn']} bit/s, out {room['bitrateOut']} bit/s")
        for p in room["participants"]:
            print(f"  {p['identity']} ({p['door']}): tracks "
                  f"{[(t['kind'], t['bitrateIn'], [(l['layer'], l['width'], l['bitrateIn']) for l in t['layers']]) for t in p['tracks']]}"
                  f" subscriptions {[(s['kind'], s.get('layer'), s.get('width'), s['bitrateOut']) for s in p['subscriptions']]}")
        assert len(room["participants"]) == 4 and room["viewers"] == 3
        assert {p["door"] for p in room["participants"]} == {"livekit"}

        # Bitrate: the server's samples (2 s each) against the viewer's own byte count over the
        # same 8 s.
        start_bytes = call(inbound_bytes(tracks["low"]))
        started = time.monotonic()
        samples, seen = [], set()
        while time.monotonic() - started < 8:
            # The sample's time from the same answer as the figure (a second request could see
            # the next sample and count this one twice).
            sampled, sub = low_subscription()
            stamp = sampled["sampledAtMs"] if sampled else None
            if sub and stamp not in seen:
                seen.add(stamp)
                samples.append(sub["bitrateOut"])
            assert sub.get("layer") == 0, sub
            time.sleep(0.25)
        end_bytes = call(inbound_bytes(tracks["low"]))
        measured = (end_bytes - start_bytes) * 8 / (time.monotonic() - started)
        reported = sum(samples[1:]) / max(1, len(samples) - 1)  # the first sample began before the window
        print(f"LOW viewer: server says {reported:.0f} bit/s (samples {samples}), the viewer counted {measured:.0f} bit/s "
              f"({100 * reported / measured:.1f}%)")
        assert abs(reported - measured) <= 0.2 * measured, (reported, measured)
        _, high = None, None
        people = {p["identity"]: p for p in get_stats(server, ops)["rooms"][0]["participants"]}
        high = [s for s in people["high"]["subscriptions"] if s["kind"] == "video"][0]
        assert (high.get("layer") or 0) > 0, high

        # Jitter. Per subscription the server shows what the viewer's receiver reports say, so it
        # must agree with the viewer's own libwebrtc figure (read at a slightly different moment:
        # within 5 ms or 50%). Per published track it is the server's own RFC 3550 estimate of the
        # publisher's packets; on loopback with a paced 15 fps source that is a few ms: above 0
        # (it is measured at all) and under 50 ms.
        pairs = []
        for _ in range(4):
            people = {p["identity"]: p for p in get_stats(server, ops)["rooms"][0]["participants"]}
            sub = [s for s in people["low"]["subscriptions"] if s["kind"] == "video"][0]
            pairs.append((sub["jitterMs"], call(inbound_jitter_ms(tracks["low"]))))
            time.sleep(1)
        published = {t["kind"]: t["jitterMs"] for t in people["host"]["tracks"]}
        print(f"jitter (ms): LOW viewer's subscription, server vs the viewer's libwebrtc "
              f"{[(round(a, 2), round(b, 2)) for a, b in pairs]}; host's tracks as the server measures them "
              f"{ {k: round(v, 2) for k, v in published.items()} }")
        assert all(b is not None and 0 <= b < 50 for _, b in pairs), pairs
        assert any(a > 0 for a, _ in pairs), pairs
        assert min(abs(a - b) - max(5, 0.5 * b) for a, b in pairs) <= 0, pairs
        assert 0 < published["video"] < 50 and 0 < published["audio"] < 50, published

        # The dashboard, as an operator opens it.
        driver = start_browser()
        driver.get(f"{server.http_url}/admin/dashboard#token={ops}")
        deadline = time.monotonic() + 30
        while True:
            state = driver.execute_script("return window.state")
            if state["updates"] >= 2 and state["participants"] == 4 and state["recordings"] >= 1:
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
        rows = driver.execute_script(
            "return [...document.querySelectorAll('[data-room=\"stats\"] tr[data-identity]')].map(r => r.dataset.identity)")
        recordings = driver.execute_script("return document.querySelector('#recordings tbody').innerText")
        jitters = driver.execute_script(
            "return [...document.querySelectorAll('[data-room=\"stats\"] [data-jitter]')].map(e => e.textContent.trim())")
        print(f"dashboard: state {state}; participant rows {rows}; recordings: {recordings.strip()}; jitter shown {jitters}")
        assert len(jitters) >= 2 + 3 * 2 and all(j.startswith("jitter ") and j.endswith(" ms") for j in jitters), jitters
        link = driver.execute_script(
            f"const a = document.querySelector('#recordings a[data-recording=\"{egress.egress_id}\"]'); return a && a.href")
        print(f"dashboard link to the recording: {link and link.split('?')[0]}")
        assert link and link.startswith(f"{server.http_url}/admin/recordings/{egress.egress_id}?access_token=")
        assert sorted(rows) == ["high", "host", "low", "mid"]
        assert egress.egress_id in recordings and "ACTIVE" in recordings
        os.makedirs(OUTPUT, exist_ok=True)
        path = os.path.join(OUTPUT, "dashboard.png")
        driver.save_screenshot(path)
        print(f"screenshot: {path}")
    finally:
        if driver:
            driver.quit()

        async def close():
            await lk.egress.stop_egress(api.StopEgressRequest(egress_id=egress.egress_id))
            await lk.aclose()
            for task in tasks:
                task.cancel()
            for room in viewers:
                await room.disconnect()
            await host.disconnect()
        try:
            call(close())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    check_recording_download(server, link, egress.egress_id, ops)


def fetch(url, headers=None):
    """(status, headers, body) of a GET, errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def check_recording_download(server, link, egress_id, ops):
    """The dashboard's link downloads the finished recording: the same bytes as the file on disk,
    which ffprobe reads; a Range request gets exactly that slice (206) so a player can seek; no or
    a bad token is 401; an egress that does not exist, or a path instead of an ID, is 404."""
    async def finished():
        lk = api.LiveKitAPI(url=server.http_url, api_key=API_KEY, api_secret=API_SECRET)
        try:
            for _ in range(40):
                items = (await lk.egress.list_egress(api.ListEgressRequest(egress_id=egress_id))).items
                if items and items[0].status == api.EgressStatus.EGRESS_COMPLETE:
                    return items[0]
                await asyncio.sleep(0.25)
            return items[0] if items else None
        finally:
            await lk.aclose()
    info = asyncio.run(finished())
    assert info and info.status == api.EgressStatus.EGRESS_COMPLETE, info
    path = info.file_results[0].filename
    with open(path, "rb") as f:
        on_disk = f.read()
    status, headers, body = fetch(link)
    print(f"\ndownload {egress_id}: {status} {headers.get('Content-Type')} {len(body)} bytes "
          f"(file on disk {len(on_disk)} bytes), Accept-Ranges {headers.get('Accept-Ranges')}")
    assert status == 200 and body == on_disk and headers.get("Content-Type") == "video/webm"
    assert headers.get("Accept-Ranges") == "bytes"
    download = os.path.join(os.path.dirname(path), "downloaded.webm")
    with open(download, "wb") as f:
        f.write(body)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=format_name,duration:stream=codec_name",
                            "-of", "json", download], capture_output=True, text=True)
    print(f"ffprobe of the download: {probe.stdout.strip()} {probe.stderr.strip()}")
    assert probe.returncode == 0 and "vp8" in probe.stdout
    # Seeking: a middle slice and the last 100 bytes.
    middle = (len(on_disk) // 3, len(on_disk) // 3 + 999)
    status, headers, body = fetch(link, {"Range": f"bytes={middle[0]}-{middle[1]}"})
    print(f"Range bytes={middle[0]}-{middle[1]}: {status} Content-Range {headers.get('Content-Range')} {len(body)} bytes")
    assert status == 206 and body == on_disk[middle[0]:middle[1] + 1]
    assert headers.get("Content-Range") == f"bytes {middle[0]}-{middle[1]}/{len(on_disk)}"
    status, headers, body = fetch(link, {"Range": "bytes=-100"})
    assert status == 206 and body == on_disk[-100:], (status, headers)
    status, headers, _ = fetch(link, {"Range": f"bytes={len(on_disk) + 10}-"})
    assert status == 416 and headers.get("Content-Range") == f"bytes */{len(on_disk)}"
    # Tokens and paths.
    base = f"{server.http_url}/admin/recordings/{egress_id}"
    outcomes = {
        "no token": fetch(base)[0],
        "bad token": fetch(base + "?access_token=not-a-token")[0],
        "bearer header": fetch(base, {"Authorization": f"Bearer {ops}"})[0],
        "token without roomRecord": fetch(base + "?access_token=" + admin_token(room_list=True))[0],
        "unknown egress": fetch(f"{server.http_url}/admin/recordings/EG_doesnotexist?access_token={ops}")[0],
        "a path": fetch(f"{server.http_url}/admin/recordings/..%2F..%2F..%2Fetc%2Fpasswd?access_token={ops}")[0],
        "the file's path": fetch(f"{server.http_url}/admin/recordings/{urllib.parse.quote(path, safe='')}?access_token={ops}")[0],
    }
    print(f"download refusals: {outcomes}")
    assert outcomes == {"no token": 401, "bad token": 401, "bearer header": 200, "token without roomRecord": 403,
                        "unknown egress": 404, "a path": 404, "the file's path": 404}
