"""A LiveKit participant in its own process, so a test can SIGKILL it: connects, says so, waits."""
import asyncio
import sys

from livekit import rtc


async def main(url, token):
    room = rtc.Room()
    await room.connect(url, token)
    print("connected", flush=True)
    await asyncio.sleep(120)


asyncio.run(main(sys.argv[1], sys.argv[2]))
