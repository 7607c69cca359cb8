#!/usr/bin/env python3
"""Compare two sluice-load runs (results/load.json files), figure by figure, against a tolerance
(default 15%). bench/load.sh runs it on the previous and the latest run.

Usage: compare_load.py A.json B.json [--tolerance 0.15]

What "agrees" means for each figure (a ratio is |a - b| / max(a, b)):
- CPU per forwarded packet, x floor, packets/s forwarded, RSS, the floors, the largest N held
  (under 1% loss, delay settled, load tool under 95% of its core): ratio within the tolerance.
- Loss: near zero a ratio means nothing (0.01% vs 0.02% is 100%), and past the server's limit the
  loss is what it could not deliver. So loss agrees when both runs are under 1%, or when the
  delivered share (100 - loss) agrees within the tolerance: the same test as packets/s forwarded.
- Delay p50/p99: within the tolerance or within 5 ms of each other (the subscribers poll in 2 ms
  batches and the machine's scheduler adds a few ms either way; a few ms of a 2 ms delay is not a
  disagreement about the server).
Rows whose server did not settle (its subscribers' delay never came down: the server is past its
limit) are marked; their loss and delay are the backlog's, compared like the others.
"""
import json
import sys


def load(path):
    with open(path) as f:
        report = json.load(f)
    return {(r["server"], r["subscribers"]): r for r in report["rows"] if not r.get("error")}, report


def num(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if value != value else value


def ratio(a, b):
    a, b = num(a), num(b)
    if a is None or b is None:
        return None
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


class Tally:
    def __init__(self, tolerance):
        self.tolerance = tolerance
        self.agree = 0
        self.total = 0
        self.misses = []

    def judge(self, name, ok):
        if ok is None:
            return "-"
        self.total += 1
        if ok:
            self.agree += 1
            return "ok"
        self.misses.append(name)
        return "**no**"


def main():
    argv = sys.argv[1:]
    tolerance = 0.15
    if "--tolerance" in argv:
        at = argv.index("--tolerance")
        tolerance = float(argv[at + 1])
        del argv[at:at + 2]
    if len(argv) != 2:
        print(__doc__)
        return 2
    (a, ra), (b, rb) = load(argv[0]), load(argv[1])
    tally = Tally(tolerance)

    def within(x, y):
        r = ratio(x, y)
        return None if r is None else r <= tolerance

    print(f"# Run to run: {ra.get('date', '?')} (A) vs {rb.get('date', '?')} (B)\n")
    for name, r in (("A", ra), ("B", rb)):
        print(f"- {name}: {r.get('machine', '?')}; {r.get('pinning', '?')}; load average "
              f"{r.get('loadAverageAtStart', float('nan')):.1f} at the start, {r.get('loadAverageAtEnd', 0):.1f} at the end; "
              f"{r.get('durationSeconds', float('nan')):.0f} s")
    print(f"\nTolerance {tolerance:.0%}; the rules per figure are in compare_load.py's docstring.\n")

    for fa, fb in zip(ra["floor"], rb["floor"]):
        x, y = num(fa["cpuSecondsPer1000Packets"]), num(fb["cpuSecondsPer1000Packets"])
        verdict = tally.judge(f"floor {fa['profile']}", within(x, y))
        how = "median of the floors before each row" if "measurements" in fa else "at the start"
        print(f"- floor {fa['profile']} ({how}): {1000 * x:.2f} vs {1000 * y:.2f} µs per packet "
              f"({ratio(x, y):.0%}) {verdict}")
    print()

    header = ("| server | N | CPU µs/pkt A / B | | x floor A / B | | pkt/s A / B | | RSS MiB A / B | | "
              "loss % A / B | | p50 ms A / B | | p99 ms A / B | |")
    print(header)
    print("|---|---:|---:|---|---:|---|---:|---|---:|---|---:|---|---:|---|---:|---|")
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        name = f"{key[0]} N={key[1]}"
        cells = []

        def pair(field, scale=1.0, digits=2):
            vx, vy = num(x.get(field)), num(y.get(field))
            show = lambda v: "-" if v is None else f"{v * scale:.{digits}f}"
            return f"{show(vx)} / {show(vy)}"

        cells.append(pair("cpuSecondsPer1000Packets", 1000))
        cells.append(tally.judge(f"{name} CPU per packet", within(x.get("cpuSecondsPer1000Packets"), y.get("cpuSecondsPer1000Packets"))))
        cells.append(pair("ratioToFloor"))
        cells.append(tally.judge(f"{name} x floor", within(x.get("ratioToFloor"), y.get("ratioToFloor"))))
        cells.append(pair("packetsPerSecondForwarded", digits=0))
        cells.append(tally.judge(f"{name} packets/s", within(x.get("packetsPerSecondForwarded"), y.get("packetsPerSecondForwarded"))))
        cells.append(pair("rssMiB", digits=1))
        cells.append(tally.judge(f"{name} RSS", within(x.get("rssMiB"), y.get("rssMiB"))))
        lx, ly = num(x.get("lossPercent")), num(y.get("lossPercent"))
        loss_ok = None
        if lx is not None and ly is not None:
            loss_ok = (lx < 1 and ly < 1) or (ratio(100 - lx, 100 - ly) <= tolerance)
        cells.append(pair("lossPercent"))
        cells.append(tally.judge(f"{name} loss", loss_ok))
        for field, label in (("delayP50Milliseconds", "p50"), ("delayP99Milliseconds", "p99")):
            dx, dy = num(x.get(field)), num(y.get(field))
            ok = None if dx is None or dy is None else (abs(dx - dy) <= 5 or ratio(dx, dy) <= tolerance)
            cells.append(pair(field, digits=1))
            cells.append(tally.judge(f"{name} delay {label}", ok))
        unsettled = [n for n, r in (("A", x), ("B", y)) if r.get("settled") is False]
        mark = f" (did not settle in {', '.join(unsettled)})" if unsettled else ""
        bound = [n for n, r in (("A", x), ("B", y)) if (num(r.get("loadToolCPUPercent")) or 0) >= 95]
        mark += f" (load tool at its limit in {', '.join(bound)})" if bound else ""
        print(f"| {key[0]} | {key[1]}{mark} | " + " | ".join(cells) + " |")

    print()
    la, lb = ra.get("largestUnderOnePercentLoss", {}), rb.get("largestUnderOnePercentLoss", {})
    for server in sorted(set(la) & set(lb)):
        verdict = tally.judge(f"{server} largest N", within(la[server], lb[server]))
        print(f"- {server}: largest N held {la[server]} vs {lb[server]} ({ratio(la[server], lb[server]):.0%}) {verdict}")
    print(f"\n{tally.agree} of {tally.total} figures agree within their rule.")
    if tally.misses:
        print("Disagree: " + "; ".join(tally.misses) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
