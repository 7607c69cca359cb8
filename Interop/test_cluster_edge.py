"""The edge relay (issue #21): viewers on nodes B and C of a room that lives on node A are served
by their own node, from one copy of each of A's tracks relayed over a sealed node-to-node link.

Judged by LiveKit's Python SDK (a simulcast host on A, three viewers each on B and C decoding its
video and audio) and livekit-api's ListParticipants; the per-layer packet counters of
/admin/edge on each node show each layer crossing to a node once, whatever its viewers.
"""
import asyncio
import json
import urllib.error
import urllib.request

import numpy as np
from livekit import api, rtc

from conftest import API_KEY, API_SECRET
from test_cluster import cluster, lkapi, redis_server, webhooks  # noqa: F401 (fixtures)
from lk_rtc import Tone, VideoPattern, Viewer, publish_audio, publish_video, token, wait_for


class HearingViewer(Viewer):
    """Also counts audio frames that carry the tone (the decoder conceals with silence when no
    packet comes, so a count of audio frames alone would not show audio arriving)."""

    async def _read(self, track, name):
        if track.kind == rtc.TrackKind.KIND_VIDEO:
            return await super()._read(track, name)
        async for event in rtc.AudioStream(track):
            self.frames[name] += 1
            if np.abs(np.frombuffer(event.frame.data, dtype=np.int16)).max() > 1000:
                self.frames[name + " (tone)"] += 1


async def join(node, identity):
    r = rtc.Room()
    viewer = HearingViewer(r)
    viewer.messages = []
    r.on("data_received", lambda packet: viewer.messages.append(
        (packet.participant.identity if packet.participant else None, packet.data.decode())))
    await asyncio.wait_for(r.connect(node.ws_url, token(identity, "sale", can_publish=False)), 20)
    return viewer


def admin_edge(node):
    bearer = api.AccessToken(API_KEY, API_SECRET).with_identity("ops").with_grants(api.VideoGrants(room_list=True)).to_jwt()
    request = urllib.request.Request(node.http_url + "/admin/edge", headers={"Authorization": "Bearer " + bearer})
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read())


def test_edge_nodes_serve_their_viewers_from_one_copy(cluster):
    a, b, c = cluster["a"], cluster["b"], cluster["c"]

    async def go():
        host = rtc.Room()
        await asyncio.wait_for(host.connect(a.ws_url, token("host", "sale")), 20)
        camera, tone = VideoPattern(1280, 720, (200, 30, 30), fps=15), Tone()
        await publish_video(host, "camera", rtc.TrackSource.SOURCE_CAMERA, camera, simulcast=True)
        await publish_audio(host, tone)
        sending = asyncio.gather(camera.run(60), tone.run(60))

        viewers = {}
        for identity, node in [("v-b0", b), ("v-b1", b), ("v-b2", b), ("v-c0", c), ("v-c1", c), ("v-c2", c)]:
            viewers[identity] = await join(node, identity)
        assert await wait_for(lambda: all(v.frames["camera"] >= 30 and v.frames["mic (tone)"] >= 100 for v in viewers.values()), 25), \
            {k: dict(v.frames) for k, v in viewers.items()}
        print("\ndecoded on edge nodes B and C (room on A):", {k: dict(v.frames) for k, v in viewers.items()},
              "video sizes:", {k: v.sizes.get("camera") for k, v in viewers.items()})

        listed = await lkapi(c).room.list_participants(api.ListParticipantsRequest(room="sale"))
        identities = sorted(p.identity for p in listed.participants)
        print(f"ListParticipants on C: {identities}")
        assert identities == ["host", "v-b0", "v-b1", "v-b2", "v-c0", "v-c1", "v-c2"]

        # Counters: the edges first, then the origin, so what an edge received cannot exceed what
        # the origin had received from the publisher (or sent that edge) by the later reading.
        await asyncio.sleep(2)
        edges = {"node-b": admin_edge(b), "node-c": admin_edge(c)}
        origin = admin_edge(a)
        print("origin A:", json.dumps(origin["origin"], sort_keys=True))
        sent = {(link["edgeNode"], t["track"]): t for link in origin["origin"] for t in link["tracks"]}
        for node, body in edges.items():
            print(f"edge {node}:", json.dumps(body["edge"], sort_keys=True))
            rooms = [r for r in body["edge"] if r["room"] == "sale"]
            assert len(rooms) == 1 and rooms[0]["origin"] == "node-a", body
            tracks = rooms[0]["tracks"]
            assert len(tracks) == 2, tracks  # the camera and the microphone
            layered = 0
            for track in tracks:
                assert track["viewers"] == 3, track
                assert track["forwardedLocally"] > 0, track
                at_origin = sent[(node, track["track"])]
                received = track["receivedPerLayer"]
                assert received, track
                for layer, packets in received.items():
                    published = at_origin["publishedPerLayer"].get(layer, 0)
                    # Once per node: three viewers here, yet no more packets of a layer than the
                    # publisher sent of it (three copies would be ~3x).
                    assert 0 < packets <= published, (node, track["track"], layer, packets, published)
                    assert packets <= at_origin["sentPerLayer"].get(layer, 0), (node, track, at_origin)
                    sent_here = at_origin["sentPerLayer"].get(layer, 0)
                    print(f"  {node} {track['track']} layer {layer}: received {packets}, A sent this edge {sent_here}, "
                          f"A got {published} from the publisher ({packets / published:.2f}x); "
                          f"forwarded to the 3 viewers here: {track['forwardedLocally']}")
                    # Loopback loses nothing: what A sent arrived (but for the last few ms between readings).
                    assert packets >= 0.9 * sent_here, (node, track["track"], layer, packets, sent_here)
                layered = max(layered, len(received))
            assert layered >= 2, f"the camera's simulcast layers did not all reach {node}: {tracks}"

        # Data packets (a sale's chat): the host's reach every edge's viewers; a viewer's on C
        # reaches the host on A and the viewers on B (through A) and on C.
        host_heard = []
        host.on("data_received", lambda packet: host_heard.append(
            (packet.participant.identity if packet.participant else None, packet.data.decode())))
        await host.local_participant.publish_data(b"price drop", reliable=True, topic="chat")
        await viewers["v-c0"].room.local_participant.publish_data(b"I'll take it", reliable=True, topic="chat")
        everyone_heard = lambda: all(("host", "price drop") in v.messages for v in viewers.values()) and \
            all(("v-c0", "I'll take it") in v.messages for k, v in viewers.items() if k != "v-c0") and \
            ("v-c0", "I'll take it") in host_heard
        heard = await wait_for(everyone_heard, 5)
        print(f"chat: host heard {host_heard}; v-b1 heard {viewers['v-b1'].messages}; v-c2 heard {viewers['v-c2'].messages}")
        assert heard, {k: v.messages for k, v in viewers.items()}

        # The host on A sees its whole audience (the edges' viewers, from the shared state).
        audience = sorted(p.identity for p in host.remote_participants.values())
        print(f"host on A sees {audience}")
        assert audience == ["v-b0", "v-b1", "v-b2", "v-c0", "v-c1", "v-c2"]

        # Room metadata set through C (the call goes to A, the room's node) reaches the edges' viewers.
        await lkapi(c).room.update_room_metadata(api.UpdateRoomMetadataRequest(room="sale", metadata="sale ends 18:00"))
        assert await wait_for(lambda: all(v.room.metadata == "sale ends 18:00" for v in viewers.values()), 5), \
            {k: v.room.metadata for k, v in viewers.items()}
        print("room metadata set via C reached all 6 edge viewers")

        # The origin opens links only for live nodes of the cluster, with a token for the room.
        def ask_link(node_id, bearer):
            request = urllib.request.Request(f"{a.http_url}/edge/link?room=sale&node={node_id}", method="POST",
                                             headers={"Authorization": "Bearer " + bearer})
            try:
                with urllib.request.urlopen(request, timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code
        refused = (ask_link("node-x", token("v-x", "sale", can_publish=False)),
                   ask_link("node-b", token("v-x", "other", can_publish=False)),
                   ask_link("node-b", "not-a-token"))
        print(f"/edge/link on A: made-up node -> {refused[0]}, token for another room -> {refused[1]}, bad token -> {refused[2]}")
        assert refused == (403, 403, 401), refused

        sending.cancel()
        for v in viewers.values():
            await v.close()
        await host.disconnect()

    asyncio.run(go())


def test_browser_viewer_on_an_edge_node(cluster):
    """livekit-client 2.18.10 in Chromium: a host page on A publishes its fake camera (1280x720,
    simulcast) and microphone; a viewer page on B (the edge) decodes both, and its LOW -> HIGH
    switch travels over the link (B asks A for the layers its viewer wants)."""
    from test_browser_sdk import PageServer, audio_frames, media_of, open_page, start_browser, wait
    a, b = cluster["a"], cluster["b"]
    version = "2.18.10"
    pages = PageServer([version])
    driver = None
    try:
        driver = start_browser()
        host = open_page(driver, "host", pages, version, a.ws_url, token("host", "web-sale", can_publish=True),
                         "web-sale", "host", first=True)
        wait([host], "host published", lambda s: s["host"]["phase"] == "published", 60)
        viewer = open_page(driver, "viewer", pages, version, b.ws_url, token("viewer", "web-sale", can_publish=False),
                           "web-sale", "viewer")
        both = [host, viewer]

        def decoding(s):
            v = s["viewer"]
            return (media_of(v, "host", "video").get("framesDecoded", 0) > 60
                    and audio_frames(media_of(v, "host", "audio")) > 60)
        states = wait(both, "viewer page on B decodes video and audio", decoding, 60)
        video, audio = media_of(states["viewer"], "host", "video"), media_of(states["viewer"], "host", "audio")
        print(f"\nviewer page on edge B decoded {video['framesDecoded']} video frames ({video['frameWidth']}x{video['frameHeight']}), "
              f"{audio_frames(audio)} audio frames (energy {audio.get('totalAudioEnergy')}); sockets {states['viewer']['sockets']}")
        assert (audio.get("totalAudioEnergy") or 0) > 0
        assert states["viewer"]["remoteIdentities"] == ["host"]
        edge = admin_edge(b)["edge"]
        assert [r["room"] for r in edge] == ["web-sale"] and all(t["viewers"] == 1 for t in edge[0]["tracks"]), edge

        assert viewer.js("return window.setQuality('LOW')") == 1
        states = wait(both, "viewer on LOW", lambda s: 0 < (media_of(s["viewer"], "host", "video").get("frameWidth") or 0) <= 320, 30)
        low = media_of(states["viewer"], "host", "video")
        assert viewer.js("return window.setQuality('HIGH')") == 1
        states = wait(both, "viewer on HIGH", lambda s: (media_of(s["viewer"], "host", "video").get("frameWidth") or 0) >= 1280, 30)
        high = media_of(states["viewer"], "host", "video")
        print(f"viewer page on B LOW -> HIGH: {low['frameWidth']}x{low['frameHeight']} -> {high['frameWidth']}x{high['frameHeight']}")
        print("edge B counters:", json.dumps(admin_edge(b)["edge"], sort_keys=True))
        assert high["framesDecoded"] > low["framesDecoded"]
    finally:
        if driver:
            driver.quit()
        pages.close()
