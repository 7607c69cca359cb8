"""Room composite egress, driven by LiveKit's server SDK (`livekit-api`) while two real-time SDK
(`livekit`) publishers send solid colours (red VP8, blue H.264) and a tone: the file is judged by
ffprobe/ffmpeg, and frames read back as RGB must show each publisher's colour where the layout
puts its tile (grid first, then speaker after UpdateLayout)."""
import asyncio
import os
import subprocess
import time

from livekit import api, rtc

from lk_rtc import Tone, VideoPattern, connect, publish_audio
from test_egress import (EGRESS_ACTIVE, EGRESS_COMPLETE, decode_errors, egress_status, error_of, lkapi, media_end,
                         probe, publish_camera, run, wait_for_async)

RED = (220, 30, 30)
BLUE = (30, 30, 220)
WIDTH, HEIGHT = 1280, 720


def frame_at(path, seconds):
    """The picture shown at `seconds`, as RGB bytes (WIDTH x HEIGHT x 3)."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{seconds:.2f}", "-i", path, "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True)
    assert len(out.stdout) == WIDTH * HEIGHT * 3, len(out.stdout)
    return out.stdout


def mean_colour(rgb, x, y, half=20):
    """Mean colour of the square of side 2*half centred at (x, y)."""
    total, count = [0, 0, 0], 0
    for row in range(y - half, y + half):
        start = (row * WIDTH + x - half) * 3
        line = rgb[start:start + 2 * half * 3]
        for i in range(0, len(line), 3):
            total[0] += line[i]
            total[1] += line[i + 1]
            total[2] += line[i + 2]
            count += 1
    return tuple(round(t / count) for t in total)


def busiest_threads(pid, count=3):
    """The process's threads that used most CPU (user + system seconds), as (name, seconds)."""
    threads, ticks = [], os.sysconf("SC_CLK_TCK")
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        threads.append((stat[stat.index("(") + 1:stat.rindex(")")], (int(fields[11]) + int(fields[12])) / ticks))
    return sorted(threads, key=lambda t: -t[1])[:count]


def close(colour, target, within=40):
    return all(abs(c - t) <= within for c, t in zip(colour, target))


def test_room_composite_grid_of_two_colours_update_layout_and_end_when_the_room_empties(server):
    async def go():
        lk = lkapi(server)
        alice = await connect(server, "alice", "party")
        bob = await connect(server, "bob", "party")
        red, blue, tone = VideoPattern(320, 240, RED, fps=20), VideoPattern(320, 240, BLUE, fps=20), Tone()
        await publish_camera(alice, red, rtc.VideoCodec.VP8)
        await publish_audio(alice, tone)
        await publish_camera(bob, blue, rtc.VideoCodec.H264)
        sending = asyncio.gather(red.run(10.5), blue.run(10.5), tone.run(10.5))
        # Past the publishers' start-up keyframes and the SFU's PLI throttle (see test_egress).
        await asyncio.sleep(1.5)

        refusals = {
            "no such room": await error_of(lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(
                room_name="nowhere", layout="grid", file_outputs=[api.EncodedFileOutput(filepath="x")]))),
        }
        # A layout name the app made up itself (as the platform's "my-shop-layout"): taken, kept in
        # EgressInfo and drawn as a grid, as LiveKit's default template draws unknown names (the
        # tile colours below are read from this part of the file).
        info = await lk.egress.start_room_composite_egress(api.RoomCompositeEgressRequest(
            room_name="party", layout="my-shop-layout", preset=api.EncodingOptionsPreset.H264_720P_30,
            file_outputs=[api.EncodedFileOutput(file_type=api.EncodedFileType.MP4, filepath="{room_name}/composite")]))
        started = time.monotonic()
        assert info.status == api.EgressStatus.EGRESS_STARTING and info.egress_id.startswith("EG_"), info
        assert info.room_composite.layout == "my-shop-layout", info
        assert await wait_for_async(lambda: egress_status(lk, info.egress_id), lambda e: e.status == EGRESS_ACTIVE, 5)
        active_after = time.monotonic() - started

        await asyncio.sleep(max(0, 4.5 - (time.monotonic() - started)))
        # A layout name the app chose itself is taken and kept; it draws as a grid (LiveKit's
        # template does the same), so the picture does not change until "speaker".
        custom = await lk.egress.update_layout(api.UpdateLayoutRequest(egress_id=info.egress_id, layout="mosaic"))
        refusals["update of no egress"] = await error_of(lk.egress.update_layout(
            api.UpdateLayoutRequest(egress_id="EG_nope", layout="speaker")))
        updated = await lk.egress.update_layout(api.UpdateLayoutRequest(egress_id=info.egress_id, layout="speaker"))
        switched = time.monotonic() - started

        await sending
        wall = time.monotonic() - started
        # Where the server's CPU went: the compositor ("sluice-composer") decodes, draws, encodes
        # and muxes on its own thread, the media worker ("sluice-media-N") forwards packets.
        cpu = busiest_threads(server.proc.pid)
        await alice.disconnect()
        await bob.disconnect()  # the room empties: the composite ends by itself
        ok = await wait_for_async(lambda: egress_status(lk, info.egress_id), lambda e: e.status == EGRESS_COMPLETE, 15)
        done = await egress_status(lk, info.egress_id)
        await lk.aclose()
        return info, custom, updated, done, ok, refusals, wall, switched, active_after, cpu

    info, custom, updated, done, ok, refusals, wall, switched, active_after, cpu = run(go())
    print("busiest server threads: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in cpu)
          + f" of CPU over {wall:.2f} s of recording (and the publishers' set-up before it)")
    print(f"\nrefusals: {refusals}")
    assert refusals["no such room"][0] == 404, refusals
    assert custom.room_composite.layout == "mosaic" and custom.status == EGRESS_ACTIVE, custom
    assert refusals["update of no egress"][0] == 404, refusals
    print(f"UpdateLayout answered {api.EgressStatus.Name(updated.status)} layout={updated.room_composite.layout!r} "
          f"at {switched:.2f} s; ACTIVE after {active_after:.2f} s")
    assert updated.egress_id == info.egress_id and updated.room_composite.layout == "speaker", updated
    assert updated.status == EGRESS_ACTIVE, updated
    assert ok and done.status == EGRESS_COMPLETE, done
    assert done.room_composite.layout == "speaker", done

    result = done.file_results[0]
    path = result.filename
    assert path.endswith("/recordings/party/composite.mp4") and os.path.exists(path), path
    codecs, info_probe = probe(path)
    video = [s for s in info_probe["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info_probe["streams"] if s["codec_type"] == "audio"]
    duration = float(info_probe["format"]["duration"])
    print(f"file {os.path.basename(path)}: {codecs} {video[0]['width']}x{video[0]['height']} "
          f"duration {duration:.2f} s (packets end {media_end(path):.2f} s) vs wall {wall:.2f} s, "
          f"{int(info_probe['format']['size'])} bytes; EgressInfo says {result.duration / 1e9:.2f} s, {result.size} bytes")
    assert len(video) == 1 and len(audio) == 1, codecs
    assert video[0]["codec_name"] == "h264" and (video[0]["width"], video[0]["height"]) == (WIDTH, HEIGHT)
    assert audio[0]["codec_name"] == "aac" and audio[0]["sample_rate"] == "48000"
    assert abs(duration - wall) < 1.5, (duration, wall)
    assert abs(result.duration / 1e9 - duration) < 0.5 and result.size == os.path.getsize(path)
    errors = decode_errors(path)
    assert errors == "", errors

    # The grid (before the switch): two cells of 640x720; each 4:3 picture fitted as 640x480.
    grid = frame_at(path, 2.5)
    left, right = mean_colour(grid, 320, 360), mean_colour(grid, 960, 360)
    bar_left, bar_right = mean_colour(grid, 320, 60), mean_colour(grid, 960, 660)
    print(f"grid at 2.5 s: alice's cell {left}, bob's cell {right}, bars {bar_left} {bar_right}")
    assert close(left, RED), left
    assert close(right, BLUE), right
    assert close(bar_left, (0, 0, 0), 25) and close(bar_right, (0, 0, 0), 25)

    # Speaker (after the switch): alice, the one with a voice, large on the right; bob in the strip
    # on the left (cell 212x118 at the top).
    speaker = frame_at(path, min(duration - 1.0, switched + 2.0))
    main, strip = mean_colour(speaker, 746, 360), mean_colour(speaker, 106, 59, half=10)
    below_strip = mean_colour(speaker, 106, 400, half=10)
    print(f"speaker at {min(duration - 1.0, switched + 2.0):.2f} s: main {main}, strip {strip}, below the strip {below_strip}")
    assert close(main, RED), main
    assert close(strip, BLUE), strip
    assert close(below_strip, (0, 0, 0), 25), below_strip
