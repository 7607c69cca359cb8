"""Viewers behind restrictive networks (#22): a LiveKit Python SDK viewer (libwebrtc) runs in a
network namespace made here, whose firewall (iptables) either drops all UDP (the viewer must come
in over ICE-TCP, RFC 6544) or lets through nothing but TCP to a TURN server and to the signalling
port (the viewer must relay through TURN, with the short-lived credentials Sluice put in its
JoinResponse). The TURN server is coturn from Debian, configured here with the TURN REST API
shared secret. A host publishes video and audio from the root namespace over loopback."""
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import SluiceServer, free_port
from lk_rtc import Tone, VideoPattern, connect, publish_audio, publish_video, token

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


class Namespace:
    """A network namespace joined to the root one by a veth pair (10.N.88.1 here, .2 there)."""

    def __init__(self):
        if os.geteuid() != 0:
            pytest.fail("this test creates a network namespace and needs root (CI runs as root)")
        n = random.randint(10, 250)
        self.name, self.host_if, self.ns_if = f"sluice-rn-{n}", f"srh{n}", f"srn{n}"
        self.host_ip, self.ns_ip = f"10.{n}.88.1", f"10.{n}.88.2"
        sh("ip", "netns", "add", self.name)
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        sh("ip", "link", "set", self.ns_if, "netns", self.name)
        sh("ip", "addr", "add", f"{self.host_ip}/24", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        self.run("ip", "addr", "add", f"{self.ns_ip}/24", "dev", self.ns_if)
        self.run("ip", "link", "set", self.ns_if, "up")
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *args):
        sh("ip", "netns", "exec", self.name, *args)

    @property
    def prefix(self):
        return ["ip", "netns", "exec", self.name]

    def close(self):
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


@pytest.fixture
def namespace():
    ns = Namespace()
    try:
        yield ns
    finally:
        ns.close()


def serve(workdir, ns, extra):
    """Sluice on loopback and on the namespace's link (so its host candidates include an address
    the viewer can reach), with `extra` config."""
    server = SluiceServer(workdir, extra_config=extra)
    text = open(server.config_path).read().replace("bind_addresses: [127.0.0.1]",
                                                   f"bind_addresses: [127.0.0.1, {ns.host_ip}]")
    open(server.config_path, "w").write(text)
    return server.start()


def watch(server, ns, room, identity, seconds=8, relay_only=False, connect_timeout=30):
    """Publishes video + audio from a host in the root namespace, runs lk_net_viewer.py in the
    namespace for `seconds`, and returns its JSON result line."""
    async def go():
        host = await connect(server, "host", room)
        pattern, tone = VideoPattern(320, 240, (40, 160, 90), fps=15), Tone()
        await publish_video(host, "camera", 1, pattern)
        await publish_audio(host, tone)
        sending = [asyncio.ensure_future(pattern.run(seconds + 40)), asyncio.ensure_future(tone.run(seconds + 40))]
        args = [*ns.prefix, sys.executable, os.path.join(HERE, "lk_net_viewer.py"), f"ws://{ns.host_ip}:{server.port}",
                token(identity, room, can_publish=False), str(seconds), f"connect={connect_timeout}"] + (["relay"] if relay_only else [])
        proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
        out = (await asyncio.wait_for(proc.communicate(), seconds + 60))[0].decode().splitlines()
        for task in sending:
            task.cancel()
        await host.disconnect()
        return json.loads(out[-1]), pattern.sent

    return asyncio.run(go())


def describe(pair):
    if not pair:
        return "none"
    local, remote = pair.get("local", {}), pair.get("remote", {})
    relay = f" via {local.get('relay_protocol')} to {local.get('url')}" if local.get("type") == "relay" else ""
    return (f"local {local.get('type')}/{local.get('protocol')}{relay} {local.get('address')}:{local.get('port')} -> "
            f"remote {remote.get('type')}/{remote.get('protocol')} {remote.get('address')}:{remote.get('port')}")


def test_viewer_without_udp_connects_over_ice_tcp(workdir, namespace):
    ns = namespace
    # Nothing UDP leaves or enters the viewer's namespace.
    for chain in ("INPUT", "OUTPUT"):
        ns.run("iptables", "-A", chain, "-p", "udp", "-j", "DROP")
    server = serve(workdir, ns, "rtc:\n  ice_tcp: true\n  port_range_start: 52000\n  port_range_end: 52999\n")
    try:
        started = time.monotonic()
        result, sent = watch(server, ns, "tcp-only", "tcp-viewer")
        took = time.monotonic() - started
    finally:
        server.stop()
    log = server.full_log()
    # /rtc/v1 (the default) has one peer connection, which the SDK reports as its publisher's.
    pair = result.get("subscriber_pair") or result.get("publisher_pair")
    print(f"\nICE-TCP viewer (all UDP dropped): connected={result.get('connected')}, "
          f"video frames {result.get('video_frames')} (host sent {sent}), audio frames {result.get('audio_frames')}, "
          f"first frames after {result.get('first_frame_after')} s; run {took:.1f} s")
    print(f"viewer's selected pair: {describe(pair)}")
    server_pairs = sorted({re.search(r"pair=(.*?\)) participant=", line).group(1) for line in log.splitlines()
                           if "peer connection connected" in line and "pair=" in line})
    print("server's selected pairs:", *server_pairs, sep="\n  ")
    assert result.get("connected"), result
    assert result["video_frames"] > 60, result
    assert result["audio_frames"] > 100, result
    assert pair and pair["local"]["protocol"] == "tcp" and pair["remote"]["protocol"] == "tcp", pair
    # The server advertised its address on the namespace's link, and that is what was used.
    assert pair["remote"]["address"] == ns.host_ip and pair["remote"]["type"] == "host", pair
    assert 52000 <= pair["remote"]["port"] <= 52999, pair
    assert any(p.startswith(f"tcp {ns.host_ip}:") for p in server_pairs), server_pairs


SECRET = "coturn-and-sluice-share-this"


class Coturn:
    """coturn from Debian on the namespace's link, TURN REST API secret, plain UDP+TCP port."""

    def __init__(self, workdir, ns, secret):
        self.port = free_port()
        self.log_path = os.path.join(workdir, "coturn.log")
        self.config_path = os.path.join(workdir, "turnserver.conf")
        relay_low = random.randint(40000, 44000)
        with open(self.config_path, "w") as f:
            f.write("\n".join([
                f"listening-ip={ns.host_ip}",
                f"listening-port={self.port}",
                # Relayed traffic leaves from the same address and reaches Sluice's host candidate
                # there; coturn denies loopback peers by default, and nothing here needs them.
                f"relay-ip={ns.host_ip}",
                f"min-port={relay_low}",
                f"max-port={relay_low + 200}",
                "use-auth-secret",
                f"static-auth-secret={secret}",
                "realm=sluice.test",
                "fingerprint",
                "no-tls",
                "no-dtls",
                "no-cli",
                "no-multicast-peers",
                f"allowed-peer-ip={ns.host_ip}",
                f"userdb={os.path.join(workdir, 'turndb')}",
                f"pidfile={os.path.join(workdir, 'turnserver.pid')}",
                f"log-file={self.log_path}",
                "simple-log",
                "no-stdout-log",
                "verbose",
                "",
            ]))
        binary = shutil.which("turnserver")
        if not binary:
            pytest.fail("coturn's turnserver is not installed (scripts/deps.sh test installs it)")
        self.proc = subprocess.Popen([binary, "-c", self.config_path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline and "listener opened on" not in self.log() and "Total General servers" not in self.log():
            time.sleep(0.1)

    def log(self):
        try:
            return open(self.log_path, errors="replace").read()
        except OSError:
            return ""

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def turn_only(ns, server_port, turn_port):
    """The viewer may send nothing but TCP to the TURN port and to Sluice's signalling port."""
    ns.run("iptables", "-P", "OUTPUT", "DROP")
    ns.run("iptables", "-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT")
    for port in (turn_port, server_port):
        ns.run("iptables", "-A", "OUTPUT", "-p", "tcp", "-d", ns.host_ip, "--dport", str(port), "-j", "ACCEPT")


def turn_config(domain, port, secret):
    return f"turn:\n  enabled: true\n  domain: {domain}\n  udp_port: {port}\n  secret: {secret}\n  credential_ttl: 600\n"


def test_viewer_with_only_tcp_to_turn_relays_through_coturn(workdir, namespace):
    ns = namespace
    coturn = Coturn(workdir, ns, SECRET)
    server = None
    try:
        server = serve(workdir, ns, turn_config(ns.host_ip, coturn.port, SECRET))
        turn_only(ns, server.port, coturn.port)
        result, sent = watch(server, ns, "turn-only", "turn-viewer")
    finally:
        if server:
            server.stop()
        coturn.stop()
    log = coturn.log()
    pair = result.get("subscriber_pair") or result.get("publisher_pair")
    allocations = [line for line in log.splitlines() if "ALLOCATE processed, success" in line]
    print(f"\nTURN viewer (only TCP to coturn :{coturn.port} and signalling allowed): connected={result.get('connected')}, "
          f"video frames {result.get('video_frames')} (host sent {sent}), audio frames {result.get('audio_frames')}")
    print(f"viewer's selected pair: {describe(pair)}")
    print(f"coturn: {len(allocations)} successful allocation(s); e.g. {allocations[0].strip() if allocations else '-'}")
    assert result.get("connected"), result
    assert result["video_frames"] > 60, result
    assert pair and pair["local"]["type"] == "relay" and pair["local"]["relay_protocol"] == "tcp", pair
    assert allocations, log[-3000:]
    # coturn saw the REST username Sluice minted: <expiry>:<identity>.
    assert ":turn-viewer" in "\n".join(allocations)


def test_wrong_turn_secret_fails_with_a_clear_reason_in_coturns_log(workdir, namespace):
    ns = namespace
    coturn = Coturn(workdir, ns, SECRET)
    server = None
    try:
        server = serve(workdir, ns, turn_config(ns.host_ip, coturn.port, "not-the-secret"))
        turn_only(ns, server.port, coturn.port)
        # libwebrtc keeps retrying the allocation; 12 s is plenty to see it refused.
        result, _ = watch(server, ns, "turn-wrong", "wrong-viewer", seconds=4, connect_timeout=12)
    finally:
        if server:
            server.stop()
        coturn.stop()
    log = coturn.log()
    # coturn names the REST username Sluice minted and refuses it: the HMAC does not match.
    refusals = [line.strip() for line in log.splitlines() if ":wrong-viewer>" in line
                and ("error 401: Unauthorized" in line or "check_stun_auth" in line)]
    print(f"\nwrong secret: viewer result {json.dumps(result)[:300]}")
    print("coturn says:", *refusals[:2], sep="\n  ")
    assert not (result.get("connected") and result.get("video_frames", 0) > 0), result
    assert any("error 401: Unauthorized" in line for line in refusals), log[-3000:]
    assert any("Cannot find credentials of user" in line for line in refusals), log[-3000:]
    assert "ALLOCATE processed, success" not in log


def test_whip_publisher_with_only_tcp_to_turn_uses_the_link_headers(workdir, namespace):
    """RFC 9725 Link headers: an aiortc WHIP publisher in the TURN-only namespace reads the TURN
    server and its credentials from the 201 answer, publishes through coturn over TCP, and a
    LiveKit SDK viewer (root namespace, loopback) decodes it."""
    from lk_rtc import Viewer, wait_for
    from test_whip_whep import token as whip_token
    ns = namespace
    coturn = Coturn(workdir, ns, SECRET)
    server = None
    seconds = 8
    try:
        server = serve(workdir, ns, turn_config(ns.host_ip, coturn.port, SECRET))
        turn_only(ns, server.port, coturn.port)

        async def go():
            room = "whip-turn"
            proc = await asyncio.create_subprocess_exec(
                *ns.prefix, sys.executable, os.path.join(HERE, "whip_turn_publisher.py"), f"http://{ns.host_ip}:{server.port}",
                room, whip_token("encoder", room, publish=True), str(seconds), stdout=asyncio.subprocess.PIPE)
            first = json.loads((await asyncio.wait_for(proc.stdout.readline(), 40)).decode() or "{}")
            viewer = None
            if first.get("event") == "publishing":
                viewer = Viewer(await connect(server, "watcher", room, can_publish=False))
                await wait_for(lambda: viewer.frames and min(viewer.frames.values()) > 0, 15)
            out = (await asyncio.wait_for(proc.communicate(), seconds + 30))[0].decode().splitlines()
            frames = dict(viewer.frames) if viewer else {}
            video_names = set(viewer.sizes) if viewer else set()
            if viewer:
                await viewer.close()
            return json.loads(out[-1]) if out else first, frames, video_names

        result, frames, video_names = asyncio.run(go())
    finally:
        if server:
            server.stop()
        coturn.stop()
    log = coturn.log()
    print(f"\nWHIP (aiortc) in the TURN-only namespace: {json.dumps({k: v for k, v in result.items() if k != 'links'})}")
    print("Link headers:", *result.get("links", []), sep="\n  ")
    print(f"LiveKit SDK viewer decoded (frames by track): {frames}; video tracks: {sorted(video_names)}")
    links = result.get("links", [])
    assert any(link.startswith(f"<turn:{ns.host_ip}:{coturn.port}?transport=tcp>; rel=\"ice-server\"") for link in links), links
    assert all('credential-type="password"' in link and ':encoder"' in link for link in links), links
    assert result.get("published"), result
    assert result["selected"].get("local_type") == "relay", result
    assert video_names and all(frames[n] > 60 for n in video_names), (frames, video_names)
    assert any(frames[n] > 0 for n in frames if n not in video_names), frames  # the audio
    assert "ALLOCATE processed, success" in log and ":encoder>" in log


def test_chromium_without_udp_plays_over_ice_tcp(workdir, namespace):
    """Headless Chromium with livekit-client 2.18.10, all of it (chromedriver, browser, page
    server) inside the namespace whose UDP is dropped: plays the host's video over ICE-TCP."""
    ns = namespace
    for chain in ("INPUT", "OUTPUT"):
        ns.run("iptables", "-A", chain, "-p", "udp", "-j", "DROP")
    server = serve(workdir, ns, "rtc:\n  ice_tcp: true\n  port_range_start: 53000\n  port_range_end: 53999\n")
    room = "chromium-tcp"
    try:
        async def go():
            host = await connect(server, "host", room)
            pattern, tone = VideoPattern(320, 240, (200, 80, 40), fps=15), Tone()
            await publish_video(host, "camera", 1, pattern)
            await publish_audio(host, tone)
            sending = [asyncio.ensure_future(pattern.run(90)), asyncio.ensure_future(tone.run(90))]
            proc = await asyncio.create_subprocess_exec(
                *ns.prefix, sys.executable, os.path.join(HERE, "browser_net_viewer.py"), "2.18.10",
                f"ws://{ns.host_ip}:{server.port}", token("chromium", room, can_publish=False), room, "40",
                stdout=asyncio.subprocess.PIPE, cwd=HERE)
            out = (await asyncio.wait_for(proc.communicate(), 90))[0].decode().splitlines()
            for task in sending:
                task.cancel()
            await host.disconnect()
            return json.loads(out[-1]) if out else {}

        result = asyncio.run(go())
    finally:
        server.stop()
    print(f"\nChromium (livekit-client 2.18.10, all UDP dropped): phase={result.get('phase')}, "
          f"video frames {result.get('video_frames')} at {result.get('size')}, audio frames {result.get('audio_frames')}")
    print("Chromium's selected pairs:", *result.get("pairs", []), sep="\n  ")
    assert result.get("video_frames", 0) > 60, result
    pairs = result.get("pairs") or []
    assert pairs and all(p["local"]["protocol"] == "tcp" for p in pairs), pairs
    assert any(p["remote"]["address"] == ns.host_ip for p in pairs), pairs
