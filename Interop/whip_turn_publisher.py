"""An aiortc WHIP publisher for a network that allows only TCP to a TURN server (run inside a
network namespace). aiortc does not trickle, so it learns the TURN servers the way a
non-trickling WHIP client can: a first POST whose 201 answer carries them as RFC 9725 `Link`
headers (that session is deleted at once), then the real offer, gathered with the TURN server
from those headers (its `?transport=tcp` URL). Publishes video + audio for SECONDS and prints one
JSON line: the Link headers, the TURN server used, the selected local candidate type, frames sent.

usage: whip_turn_publisher.py BASE_URL ROOM TOKEN SECONDS
"""
import asyncio
import json
import re
import sys

import aiohttp
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from test_whip_whep import CountingAudio, CountingVideo


def parse_links(values):
    """RFC 8288 Link values with rel="ice-server" -> [{url, username, credential, credential-type}]."""
    servers = []
    for value in values:
        m = re.match(r"\s*<([^>]*)>\s*(.*)", value)
        if not m:
            continue
        params = dict((k.lower(), v) for k, v in re.findall(r';\s*([\w-]+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        if params.get("rel") == "ice-server":
            servers.append({"url": m.group(1), **{k: v for k, v in params.items() if k != "rel"}})
    return servers


async def post(http, url, token, sdp):
    async with http.post(url, data=sdp, headers={"Authorization": f"Bearer {token}",
                                                 "Content-Type": "application/sdp"}) as r:
        body = await r.text()
        if r.status != 201:
            raise RuntimeError(f"{url}: {r.status} {body}")
        return r.headers.get("Location"), body, r.headers.getall("Link", [])


async def main(base, room, token, seconds):
    async with aiohttp.ClientSession() as http:
        # 1. Ask for the ICE servers: an offer with no candidates of use (gathering host only).
        probe = RTCPeerConnection()
        probe.addTransceiver("video", direction="sendonly")
        await probe.setLocalDescription(await probe.createOffer())
        location, _, links = await post(http, f"{base}/whip/{room}", token, probe.localDescription.sdp)
        await probe.close()
        async with http.delete(base + location, headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status in (200, 204), r.status
        servers = parse_links(links)
        tcp = [s for s in servers if s["url"].startswith("turn:") and s["url"].endswith("?transport=tcp")]
        if not tcp:
            print(json.dumps({"published": False, "links": links, "error": "no TURN-over-TCP Link header"}), flush=True)
            return
        chosen = tcp[0]
        # 2. Publish through that TURN server.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[
            RTCIceServer(urls=chosen["url"], username=chosen.get("username"), credential=chosen.get("credential"))]))
        video, audio = CountingVideo(), CountingAudio()
        pc.addTransceiver(video, direction="sendonly")
        pc.addTransceiver(audio, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        local_types = sorted({line.split()[7] for line in pc.localDescription.sdp.splitlines()
                              if line.startswith("a=candidate:")})
        location, answer, _ = await post(http, f"{base}/whip/{room}", token, pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        for _ in range(200):
            if pc.connectionState in ("connected", "failed"):
                break
            await asyncio.sleep(0.1)
        state = pc.connectionState
        selected = None
        try:  # aioice's nominated pair (private API; only for the report)
            ice = pc.getTransceivers()[0].sender.transport.transport
            pair = next(iter(ice._connection._nominated.values()))
            selected = {"local_type": pair.local_candidate.type, "local_transport": pair.local_candidate.transport,
                        "remote": f"{pair.remote_candidate.host}:{pair.remote_candidate.port}"}
        except Exception as e:  # noqa: BLE001
            selected = {"error": repr(e)}
        print(json.dumps({"event": "publishing", "state": state}), flush=True)
        await asyncio.sleep(seconds)
        print(json.dumps({"published": state == "connected", "state": state, "links": links, "turn": chosen["url"],
                          "offered_candidate_types": local_types, "selected": selected,
                          "video_sent": video.sent, "audio_sent": audio.sent}), flush=True)
        await pc.close()
        async with http.delete(base + location, headers={"Authorization": f"Bearer {token}"}):
            pass


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
