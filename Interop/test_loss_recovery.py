"""Loss on a viewer's path: the viewer runs in a network namespace whose inbound UDP is dropped
at random (iptables `statistic --mode random`; no netem here), and NACKs answered as RTX recover
the media."""
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time

import pytest

from conftest import SluiceServer
from lk_rtc import VideoPattern, connect, publish_video, token

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


@contextlib.contextmanager
def lossy_link(chain):
    """A network namespace on a veth pair where 5% of the UDP in one direction is dropped at
    random: `INPUT` loses what reaches the namespace (a viewer's downlink), `OUTPUT` what leaves
    it (a publisher's uplink); media, RTCP and STUN alike."""
    if os.geteuid() != 0:
        pytest.fail("this test creates a network namespace and needs root (CI runs as root)")
    n = random.randint(10, 250)
    ns, host_if, ns_if = f"sluice-loss-{n}", f"slh{n}", f"sln{n}"
    host_ip, ns_ip = f"10.{n}.77.1", f"10.{n}.77.2"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        sh("ip", "link", "set", ns_if, "netns", ns)
        sh("ip", "addr", "add", f"{host_ip}/24", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/24", "dev", ns_if)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        sh("ip", "netns", "exec", ns, "iptables", "-A", chain, "-p", "udp", "-m", "statistic",
           "--mode", "random", "--probability", "0.05", "-j", "DROP")
        yield ns, host_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def lossy_namespace():
    with lossy_link("INPUT") as link:
        yield link


@pytest.fixture
def lossy_uplink():
    with lossy_link("OUTPUT") as link:
        yield link


def serve_on(workdir, host_ip):
    """A server listening on loopback and on the namespace's link."""
    server = SluiceServer(workdir)
    text = open(server.config_path).read().replace("bind_addresses: [127.0.0.1]", f"bind_addresses: [127.0.0.1, {host_ip}]")
    open(server.config_path, "w").write(text)
    return server.start()


def test_viewer_with_five_percent_loss_still_decodes(workdir, lossy_namespace):
    ns, host_ip = lossy_namespace
    server = serve_on(workdir, host_ip)
    seconds = 12

    async def go():
        host = await connect(server, "host", "lossy")
        pattern = VideoPattern(320, 240, (120, 60, 200), fps=15)
        await publish_video(host, "camera", 1, pattern)
        sending = asyncio.ensure_future(pattern.run(seconds + 8))
        procs = {}
        for name, prefix, url in (("lossy", ["ip", "netns", "exec", ns], f"ws://{host_ip}:{server.port}"),
                                  ("clean", [], server.ws_url)):
            procs[name] = await asyncio.create_subprocess_exec(
                *prefix, sys.executable, os.path.join(HERE, "lk_viewer.py"), url, token(name, "lossy", can_publish=False),
                str(seconds), stdout=asyncio.subprocess.PIPE)
        results = {}
        for name, proc in procs.items():
            lines = (await asyncio.wait_for(proc.communicate(), seconds + 40))[0].decode().splitlines()
            results[name] = json.loads(lines[-1])
        sending.cancel()
        await host.disconnect()
        return results, pattern.sent

    try:
        results, sent = asyncio.run(go())
        time.sleep(1)
    finally:
        server.stop()
    lossy, clean = results["lossy"], results["clean"]
    # Compare the same stretch of time: both viewers were decoding throughout it.
    start = max(lossy["times"][0], clean["times"][0]) + 0.5
    end = min(lossy["times"][-1], clean["times"][-1])
    lossy["frames"] = sum(start <= t <= end for t in lossy["times"])
    clean["frames"] = sum(start <= t <= end for t in clean["times"])
    stats = [line for line in open(server.log_path).read().splitlines() if "subscription stats" in line]
    print(f"\npublisher sent {sent} frames; over the same {end - start:.1f} s the clean viewer decoded "
          f"{clean['frames']}, the lossy viewer (5% inbound UDP dropped) {lossy['frames']}")
    for line in stats:
        print(line[line.find("kind="):])
    assert clean["frames"] > 60, clean["frames"]
    assert lossy["frames"] >= 0.95 * clean["frames"], (lossy["frames"], clean["frames"])
    # The server answered the lossy viewer's NACKs from its cache, as RTX (RFC 4588: its own
    # SSRC and sequence numbers), and libwebrtc in the viewer counted them on that RTX SSRC.
    lossy_video = [line for line in stats if "identity=lossy" in line and "kind=video" in line]
    assert lossy_video and "nackRetransmits=0 " not in lossy_video[0], stats
    rtx_sent = int(lossy_video[0].split("rtxPackets=")[1].split()[0])
    print(f"viewer getStats (lossy): {lossy['inbound']}")
    print(f"viewer getStats (clean): {clean['inbound']}")
    print(f"server sent {rtx_sent} RTX packets to the lossy viewer")
    assert rtx_sent > 0, lossy_video[0]
    repaired = [i for i in lossy["inbound"] if i["rtx_ssrc"] and i["retransmitted_packets_received"] > 0]
    assert repaired, lossy["inbound"]


def test_publisher_with_five_percent_uplink_loss_is_repaired(workdir, lossy_uplink):
    """5% of the publisher's UDP toward the server is lost: the server, the publisher's receiver,
    NACKs what went missing, libwebrtc in the publisher resends it, and a clean viewer decodes
    the video whole. (The Python SDK offers no RTX for what it publishes, its offer lists VP8
    alone, so its resends come on the media stream; browsers offer RTX, test_browser_sdk checks
    that the host page's camera is answered with it.)"""
    ns, host_ip = lossy_uplink
    server = serve_on(workdir, host_ip)
    seconds = 12

    async def go():
        publisher = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", ns, sys.executable, os.path.join(HERE, "lk_publisher.py"), f"ws://{host_ip}:{server.port}",
            token("host", "lossy-up"), str(seconds), stdout=asyncio.subprocess.PIPE)
        published = json.loads((await asyncio.wait_for(publisher.stdout.readline(), 30)).decode())
        assert published.get("event") == "published", published
        viewer = await asyncio.create_subprocess_exec(
            sys.executable, os.path.join(HERE, "lk_viewer.py"), server.ws_url, token("viewer", "lossy-up", can_publish=False),
            str(seconds - 2), stdout=asyncio.subprocess.PIPE)
        seen = json.loads((await asyncio.wait_for(viewer.communicate(), seconds + 40))[0].decode().splitlines()[-1])
        sent = json.loads((await asyncio.wait_for(publisher.communicate(), seconds + 40))[0].decode().splitlines()[-1])
        return seen, sent

    try:
        seen, sent = asyncio.run(go())
        time.sleep(1)
    finally:
        server.stop()
    # Frame rates from libwebrtc's own counters on both ends (the encoder's frames sent, the
    # viewer's decoder): a busy machine slows the publisher's encoder and the Python side's
    # frame queue, not what the comparison is about.
    sent_rate = sum(o["frames_sent"] for o in sent["outbound"]) / sent["seconds"]
    decoded = sum(i["frames_decoded"] for i in seen["inbound"])
    # From the viewer's first decoded frame: its join and first keyframe took 0.8-1.8 s, which
    # counted against it when this measured from connecting (0.84 of the sent rate in one CI run
    # with 1 packet lost and no freeze).
    decoded_rate = decoded / (seen["stats_at"] - (seen["first_frame_at"] or seen["connected_at"]))
    publications = [line for line in server.full_log().splitlines() if "publication stats" in line]
    print(f"\npublisher's encoder sent {sent_rate:.1f} frames/s; the viewer decoded {decoded_rate:.1f}/s "
          f"({decoded} frames, inbound {seen['inbound']})")
    print(f"publisher getStats: {sent['outbound']}")
    for line in publications:
        print(line[line.find("kind="):])
    assert decoded_rate >= 0.85 * sent_rate, (decoded_rate, sent_rate)
    video = [line for line in publications if "kind=video" in line]
    assert video and int(video[0].split("nacksSent=")[1].split()[0]) > 0, publications
    assert any(o["nack_count"] > 0 and o["retransmitted_packets_sent"] > 0 for o in sent["outbound"]), sent["outbound"]


def test_browser_publisher_with_five_percent_uplink_loss_resends_on_rtx(workdir, lossy_uplink):
    """The same 5% uplink loss under a browser host (livekit-client 2.18.10 in headless Chromium
    inside the namespace, Interop/browser_net_host.py, simulcast fake camera): the server NACKs,
    Chromium resends on the RTX stream each simulcast layer was given in the answer (its own
    getStats: an rtxSsrc on every layer), the server unwraps what comes on them (rtxReceived in its
    publication stats), and a clean Python viewer decodes the video whole."""
    ns, host_ip = lossy_uplink
    server = serve_on(workdir, host_ip)
    room, seconds = "lossy-browser-up", 14

    async def go():
        host = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", ns, sys.executable, os.path.join(HERE, "browser_net_host.py"), "2.18.10",
            f"ws://{host_ip}:{server.port}", token("host", room), room, str(seconds), stdout=asyncio.subprocess.PIPE, cwd=HERE)
        try:
            published = json.loads((await asyncio.wait_for(host.stdout.readline(), 60)).decode() or "{}")
            assert published.get("event") == "published", published
            viewer = await asyncio.create_subprocess_exec(
                sys.executable, os.path.join(HERE, "lk_viewer.py"), server.ws_url, token("viewer", room, can_publish=False),
                str(seconds - 3), stdout=asyncio.subprocess.PIPE)
            seen = json.loads((await asyncio.wait_for(viewer.communicate(), seconds + 40))[0].decode().splitlines()[-1])
            sent = json.loads((await asyncio.wait_for(host.communicate(), seconds + 40))[0].decode().splitlines()[-1])
        finally:
            if host.returncode is None:
                host.kill()
        return seen, sent

    try:
        seen, sent = asyncio.run(go())
        time.sleep(1)
    finally:
        server.stop()
    outbound = sent["outbound"]
    publications = [line for line in server.full_log().splitlines() if "publication stats" in line and "identity=host" in line]
    print(f"\nChromium host camera {sent.get('camera')}, outbound-rtp per layer: {outbound}")
    for line in publications:
        print(line[line.find("kind="):])
    sent_rate = max((o.get("framesSent") or 0 for o in outbound), default=0) / (sent["stats_at"] - sent["published_at"])
    decoded = sum(i["frames_decoded"] for i in seen["inbound"])
    decoded_rate = decoded / (seen["stats_at"] - (seen["first_frame_at"] or seen["connected_at"]))
    print(f"the host's top layer sent {sent_rate:.1f} frames/s; the clean viewer decoded {decoded_rate:.1f}/s "
          f"({decoded} frames, sizes {seen['sizes']}, inbound {seen['inbound']})")
    assert sent["phase"] == "published", sent
    assert outbound and all(o.get("rtxSsrc") for o in outbound), outbound
    # Chromium repairs on RTX two ways: resends the server NACKed (retransmittedPacketsSent, a few
    # here: 1-6 in five runs) and, while it ramps its bitrate up, padding that carries recent
    # packets again instead of zeros (most of the RTX the server unwraps; they fill many gaps
    # before a NACK is due). Both arrive on the RTX streams and carry media.
    video = [line for line in publications if "kind=video" in line]
    assert video, publications
    rtx = int(video[0].split("rtxReceived=")[1].split()[0]) - int(video[0].split("rtxPadding=")[1].split()[0])
    resent = sum(o.get("retransmittedPacketsSent") or 0 for o in outbound)
    print(f"RTX with media unwrapped by the server: {rtx}; resends Chromium counted: {resent}")
    assert rtx > 0, publications
    assert decoded_rate >= 0.8 * sent_rate, (decoded_rate, sent_rate)
