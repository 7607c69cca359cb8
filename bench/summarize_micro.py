#!/usr/bin/env python3
"""Turns the Micro benchmarks' JMH export into bench/results/micro.md: per-packet figures.

Every Micro benchmark runs 1000 packets per sample (scalingFactor .kilo), and the export holds
raw per-sample values, so per packet = sample / 1000. Mallocs are shown exactly (a fraction means
some packets allocate), which the benchmark tool's own scaled table rounds away.

usage: summarize_micro.py RESULTS.jmh.json > micro.md
"""
import datetime
import json
import os
import platform
import re
import subprocess
import sys

PACKETS_PER_SAMPLE = 1000
TO_NS = {"ns": 1.0, "μs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
LIVEKIT_US = 26.0  # LiveKit's published livestream figure: CPU per forwarded packet


def command(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = open("/proc/loadavg").read().split()[:3]
    swift = command("swift", "--version").splitlines()
    srtp = command("dpkg-query", "-W", "-f=${Version}", "libsrtp2-1")
    return [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {os.cpu_count()} x {model} (a shared VM: other builds run beside it, so figures are noisy;"
        " compare rows of one run, and read min as the uncontended cost)",
        f"- Load average at the end of the run: {' '.join(load)}",
        f"- Kernel: {platform.release()}; {swift[0] if swift else 'swift ?'}; libsrtp2 {srtp or '?'} (Debian, NSS backend)",
    ]


def per_packet(metric):
    """min, p50, p90 per packet, in ns for times, in counts otherwise."""
    scale = TO_NS.get(metric["scoreUnit"], 1.0)
    p = metric["scorePercentiles"]
    raw = [x for fork in metric["rawData"] for x in fork]
    return (min(raw) * scale / PACKETS_PER_SAMPLE, p["50.0"] * scale / PACKETS_PER_SAMPLE,
            p["90.0"] * scale / PACKETS_PER_SAMPLE)


# Row order in the tables (the export's order is arbitrary): by the first prefix that matches.
ORDER = ["RTP parse", "RTP header", "Forwarder.Packet", "Forwarder.process,", "Forwarder.process +", "RTPMunger",
         "VP8Munger", "SRTP protect", "SRTP unprotect", "RTCP", "Fan-out VP8 to 1 ", "Fan-out VP8 to 10 DownTracks (",
         "Fan-out VP8 to 100", "Fan-out VP8 to 10 DownTracks,", "Fan-out VP8 to 10 DownTracks +", "UDP sendto",
         "UDP sendmmsg", "Floor: SRTP protect (GCM)", "Floor: SRTP protect (SHA1-80)"]


def order(name):
    for i, prefix in enumerate(ORDER):
        if name.startswith(prefix):
            return (i, name)
    return (len(ORDER), name)


def load(path):
    rows = {}
    for entry in sorted(json.load(open(path)), key=lambda e: order(display_name(e))):
        name = display_name(entry)
        metrics = entry["secondaryMetrics"]
        time = per_packet(metrics["Time (wall clock)"])
        mallocs = per_packet(metrics["Malloc (total)"])[1] if "Malloc (total)" in metrics else None
        failures = metrics.get("send failures")
        rows[name] = {"time": time, "mallocs": mallocs,
                      "failures": max(x for fork in failures["rawData"] for x in fork) if failures else None}
    return rows


def display_name(entry):
    # The export spells spaces as underscores (our names have none of their own).
    return entry["benchmark"].split(".Micro.", 1)[-1].replace("_", " ")


def fmt_time(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def fmt_mallocs(m):
    if m is None:
        return "-"
    return f"{m:.0f}" if m == int(m) else f"{m:.3f}"


def main():
    rows = load(sys.argv[1])
    out = ["# Micro-benchmarks (bench/Benchmarks/Micro)", "",
           "Written by `bench/micro.sh` from the benchmark run's JMH export (`micro.jmh.json` beside this"
           " file). Time is wall clock per packet over samples of 1000 packets; mallocs are per packet"
           " (exact, from the malloc interposer), measured region only.", ""]
    out += machine() + [""]

    fan = {n: r for n, r in rows.items() if n.startswith("Fan-out")}
    floor = {n: r for n, r in rows.items() if n.startswith(("UDP", "Floor"))}
    pieces = {n: r for n, r in rows.items() if n not in fan and n not in floor}

    out += ["## Per-packet pieces", "", "| benchmark | min | p50 | p90 | mallocs/packet |", "|---|---:|---:|---:|---:|"]
    for name, r in pieces.items():
        t = r["time"]
        out.append(f"| {name} | {fmt_time(t[0])} | {fmt_time(t[1])} | {fmt_time(t[2])} | {fmt_mallocs(r['mallocs'])} |")

    out += ["", "## Fan-out: one incoming packet to N DownTracks (no network)", "",
            "Per forwarded packet = per incoming packet / N.", "",
            "| benchmark | N | p50 per incoming | min per forwarded | p50 per forwarded | mallocs per incoming | mallocs per forwarded |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in fan.items():
        n = int(re.search(r"to (\d+) DownTracks", name).group(1))
        t, m = r["time"], r["mallocs"]
        out.append(f"| {name} | {n} | {fmt_time(t[1])} | {fmt_time(t[0] / n)} | {fmt_time(t[1] / n)} | "
                   f"{fmt_mallocs(m)} | {fmt_mallocs(None if m is None else m / n)} |")

    out += ["", "## The floor: SRTP protect + UDP send of a 1200-byte packet (127.0.0.1)", "",
            "| benchmark | min | p50 | p90 | mallocs/packet | send failures |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in floor.items():
        t = r["time"]
        out.append(f"| {name} | {fmt_time(t[0])} | {fmt_time(t[1])} | {fmt_time(t[2])} | "
                   f"{fmt_mallocs(r['mallocs'])} | {r['failures'] if r['failures'] is not None else '-'} |")

    def time(name):
        r = rows.get(name)
        return r["time"] if r else None

    def both(t):
        return f"{fmt_time(t[0])} / {fmt_time(t[1])}" if t else "-"

    protect = {"GCM": time("SRTP protect 1200 B (AEAD-AES-128-GCM)"),
               "SHA1-80": time("SRTP protect 1200 B (AES-CM-128 + HMAC-SHA1-80)")}
    send = {"sendto": time("UDP sendto 1216 B (1 datagram per call)"),
            "sendmmsg/32": time("UDP sendmmsg 1216 B (batches of 32)")}
    out += ["", "Floor per forwarded packet (min / p50): the sum of the parts measured alone, and the two"
            " done together in one loop. LiveKit's published livestream figure is about"
            f" {LIVEKIT_US:.0f} µs of CPU per forwarded packet.", "",
            "| profile | send | protect + send (sum of parts) | measured together |", "|---|---|---:|---:|"]
    for profile, pt in protect.items():
        for mode, st in send.items():
            together = time(f"Floor: SRTP protect ({profile}) + {mode}")
            total = (pt[0] + st[0], pt[1] + st[1]) if pt and st else None
            out.append(f"| {profile} | {mode} | {both(total)} | {both(together)} |")

    # The allocation gate (as swift-nio's thresholds): our forwarding path allocates nothing per
    # packet. Not gated: libsrtp's own allocations (Debian's build uses NSS, which allocates a
    # context per protect), the kernel's sends, and the assumeIsolated entry kept for comparison
    # (production calls the room directly since it became a plain class).
    limit = float(os.environ.get("MALLOC_GATE", "0"))
    over = [(n, r["mallocs"]) for n, r in rows.items()
            if r["mallocs"] is not None and r["mallocs"] > limit
            and "SRTP" not in n and not n.startswith(("UDP", "Floor")) and "assumeIsolated" not in n]
    out += ["", f"Allocation gate: at most {limit:g} mallocs per packet on our own path (SRTP, sends and the"
            f" assumeIsolated row excepted): " + ("**FAILED** " + ", ".join(f"{n}: {m}" for n, m in over) if over else "passed")]
    print("\n".join(out))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
