"""A WHEP viewer in its own process, so a test can SIGKILL it and see the server notice.

Usage: python whep_viewer.py URL TOKEN  -- prints "playing" once video frames arrive, then waits.
"""
import asyncio
import sys

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription


async def main(url, token):
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    playing = asyncio.Event()

    @pc.on("track")
    def on_track(track):
        async def consume():
            while True:
                await track.recv()
                if track.kind == "video":
                    playing.set()
        asyncio.ensure_future(consume())

    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=pc.localDescription.sdp,
                             headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"}) as r:
            assert r.status == 201, await r.text()
            answer = await r.text()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.wait_for(playing.wait(), 20)
    print("playing", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
