#!/usr/bin/env python3
"""Compare two sluice-load runs (results/load.json files): per server and N present in both, the
relative difference of CPU per forwarded packet (each run's median over its sub-windows), RSS,
loss and delay, and whether it is within a tolerance (default 15%). bench/load.sh runs it on the
previous and the latest run. Usage: compare_load.py A.json B.json [--tolerance 0.15]"""
import json
import sys


def rows(path):
    with open(path) as f:
        report = json.load(f)
    return {(r["server"], r["subscribers"]): r for r in report["rows"] if not r.get("error")}, report


def rel(a, b):
    try:
        a, b = float(a), float(b)
    except (TypeError, ValueError):
        return None
    if a != a or b != b:  # NaN
        return None
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    tolerance = 0.15
    if "--tolerance" in sys.argv:
        tolerance = float(sys.argv[sys.argv.index("--tolerance") + 1])
        args = [a for a in args if a != str(sys.argv[sys.argv.index("--tolerance") + 1])]
    if len(args) != 2:
        print(__doc__)
        return 2
    (a, ra), (b, rb) = rows(args[0]), rows(args[1])
    print(f"# Run to run: {ra.get('date', '?')} (A) vs {rb.get('date', '?')} (B)\n")
    for name, r in (("A", ra), ("B", rb)):
        print(f"- {name}: {r.get('machine', '?')}; {r.get('pinning', '?')}; load average "
              f"{r.get('loadAverageAtStart', float('nan')):.1f} at the start, {r.get('loadAverageAtEnd', 0):.1f} at the end")
    print()
    for fa, fb in zip(ra["floor"], rb["floor"]):
        d = rel(fa["cpuSecondsPer1000Packets"], fb["cpuSecondsPer1000Packets"])
        print(f"- floor {fa['profile']}: {1000 * float(fa['cpuSecondsPer1000Packets']):.2f} vs "
              f"{1000 * float(fb['cpuSecondsPer1000Packets']):.2f} µs per packet ({d:.0%})")
    print()
    print("| server | N | CPU µs/packet A | B | diff | spread in A % | spread in B % | RSS diff | loss % A | B | p50 ms A | B |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    within = total = 0
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        d = rel(x["cpuSecondsPer1000Packets"], y["cpuSecondsPer1000Packets"])
        r = rel(x["rssMiB"], y["rssMiB"])
        total += 1
        within += d is not None and d <= tolerance
        mark = "" if d is not None and d <= tolerance else " (!)"
        def spread(row):
            v = row.get("cpuSpreadPercent")
            try:
                return f"{float(v):.0f}"
            except (TypeError, ValueError):
                return "-"
        print(f"| {key[0]} | {key[1]} | {1000 * float(x['cpuSecondsPer1000Packets']):.2f} | "
              f"{1000 * float(y['cpuSecondsPer1000Packets']):.2f} | "
              f"{'-' if d is None else f'{d:.0%}'}{mark} | {spread(x)} | {spread(y)} | "
              f"{'-' if r is None else f'{r:.0%}'} | {float(x['lossPercent']):.2f} | {float(y['lossPercent']):.2f} | "
              f"{float(x['delayP50Milliseconds']):.1f} | {float(y['delayP50Milliseconds']):.1f} |")
    print(f"\nCPU per forwarded packet within {tolerance:.0%}: {within} of {total} rows")
    print("largest N under 1% loss:", ra.get("largestUnderOnePercentLoss"), "vs", rb.get("largestUnderOnePercentLoss"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
