"""Headless Chromium with livekit-client (shared/clients bundle) as the host, for running inside a
network namespace (chromedriver, Chromium and the page server all live there). Opens
Interop/web/lk_page.html as a host publishing Chromium's fake camera (simulcast) and microphone
to URL, keeps publishing for SECONDS after it published, then prints one JSON line: the page's
phase, its camera and its camera's outbound-rtp per simulcast layer (the RTX stream each layer
was given and what it resent), read from the browser's own getStats.

usage: browser_net_host.py VERSION URL TOKEN ROOM SECONDS
"""
import json
import sys
import time

from test_browser_sdk import PageServer, open_page, start_browser


def main(version, url, tok, room, seconds):
    pages = PageServer([version])
    driver = start_browser()
    try:
        host = open_page(driver, "host", pages, version, url, tok, room, "host", first=True)
        deadline = time.monotonic() + 40
        state = {}
        while time.monotonic() < deadline:
            state = host.state() or {}
            if state.get("phase") in ("published", "failed"):
                break
            time.sleep(0.5)
        published_at = time.time()
        print(json.dumps({"event": state.get("phase"), "t": published_at}), flush=True)
        if state.get("phase") == "published":
            time.sleep(seconds)
            state = host.state() or {}
        print(json.dumps({"phase": state.get("phase"), "error": state.get("error"), "camera": state.get("camera"),
                          "outbound": state.get("cameraOutbound") or [], "published_at": published_at,
                          "stats_at": time.time(), "console": host.console()[-5:] if state.get("phase") != "published" else []}),
              flush=True)
    finally:
        driver.quit()
        pages.close()


main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
