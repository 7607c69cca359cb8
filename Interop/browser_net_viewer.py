"""Headless Chromium with livekit-client (shared/clients bundle) as a viewer, for running inside a
network namespace (chromedriver, Chromium and the page server all live there, so selenium reaches
them on the namespace's own loopback). Opens Interop/web/lk_page.html as a viewer of URL, waits
until the browser decoded MIN video frames (or TIMEOUT), reads the selected ICE candidate pair from
the browser's own getStats, prints one JSON line.

With WATCH seconds (a sixth argument) it then keeps watching: prints {"event": "playing"} once
video plays, samples the page every half second for WATCH seconds (wall time, decoded video and
audio frames, frame width, the stream state the SDK holds for the host's video), and prints them in
its last line as "timeline".

usage: browser_net_viewer.py VERSION URL TOKEN ROOM TIMEOUT [WATCH]
"""
import json
import sys
import time

from test_browser_sdk import MIN_FRAMES, PageServer, audio_frames, media_of, open_page, start_browser

SELECTED_PAIR_JS = """
const done = arguments[arguments.length - 1];
(async () => {
  const out = [];
  for (const pc of window.__pcs) {
    if (pc.connectionState !== "connected") continue;
    const report = await pc.getStats();
    const byId = new Map([...report.values()].map((s) => [s.id, s]));
    for (const s of report.values()) {
      if (s.type !== "transport" || !s.selectedCandidatePairId) continue;
      const pair = byId.get(s.selectedCandidatePairId);
      const local = byId.get(pair.localCandidateId), remote = byId.get(pair.remoteCandidateId);
      out.push({ local: { type: local.candidateType, protocol: local.protocol, relayProtocol: local.relayProtocol,
                          address: local.address, port: local.port },
                 remote: { type: remote.candidateType, protocol: remote.protocol, address: remote.address, port: remote.port },
                 bytesReceived: pair.bytesReceived });
    }
  }
  return out;
})().then(done, (e) => done([{ error: String(e) }]));
"""


def watch(viewer, seconds):
    """[time, video frames, audio frames, width, the host video's stream state] every half second."""
    print(json.dumps({"event": "playing", "t": time.time()}), flush=True)
    timeline = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        state = viewer.state() or {}
        video, audio = media_of(state, "host", "video"), media_of(state, "host", "audio")
        timeline.append([time.time(), video.get("framesDecoded") or 0, audio_frames(audio), video.get("frameWidth"),
                         (state.get("trackStreamStates") or {}).get("host/video")])
        time.sleep(0.5)
    return timeline


def main(version, url, tok, room, timeout, watch_seconds=None):
    pages = PageServer([version])
    driver = start_browser()
    try:
        viewer = open_page(driver, "viewer", pages, version, url, tok, room, "viewer", first=True)
        deadline = time.monotonic() + timeout
        state = {}
        while time.monotonic() < deadline:
            state = viewer.state() or {}
            if state.get("phase") == "failed":
                break
            if (media_of(state, "host", "video").get("framesDecoded") or 0) > MIN_FRAMES:
                break
            time.sleep(0.5)
        timeline = watch(viewer, watch_seconds) if watch_seconds and state.get("phase") != "failed" else None
        pairs = viewer.js_async(SELECTED_PAIR_JS)
        video, audio = media_of(state, "host", "video"), media_of(state, "host", "audio")
        print(json.dumps({"phase": state.get("phase"), "error": state.get("error"), "pcs": state.get("pcStates"),
                          "video_frames": video.get("framesDecoded") or 0,
                          "size": [video.get("frameWidth"), video.get("frameHeight")],
                          "audio_frames": audio_frames(audio), "pairs": pairs,
                          "console": viewer.console()[-5:] if state.get("phase") != "connected" else [],
                          "timeline": timeline}), flush=True)
    finally:
        driver.quit()
        pages.close()


main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]) if len(sys.argv) > 6 else None)
