#!/usr/bin/env python3
"""Summarises bench/ab_load.sh: per binary, every round's CPU per forwarded packet and its ratio to
the floor measured just before the row, then the median of each; the last column compares each
binary's median ratio with the first binary's (the "before")."""
import json
import os
import statistics
import sys

runs_dir, pairs = sys.argv[1], sys.argv[2:]
labels = [p.split("=", 1)[0] for p in pairs]
table = {}
for entry in sorted(os.listdir(runs_dir)):
    path = os.path.join(runs_dir, entry, "load.json")
    if not os.path.exists(path):
        continue
    label, round_ = entry.rsplit(".", 1)
    with open(path) as f:
        report = json.load(f)
    for row in report["rows"]:
        if row.get("server") == "sluice" and not row.get("error"):
            table.setdefault(label, []).append({"round": int(round_), **row})

out = {"labels": labels, "rows": table}
with open(os.path.join(runs_dir, "ab_load.json"), "w") as f:
    json.dump(out, f, indent=1)

print("# Forwarding cost before/after, one run (bench/ab_load.sh)\n")
print("| binary | subscribers | rounds | µs per forwarded packet (each round) | x floor (each round) | median x floor | vs " + labels[0] + " | loss % (worst) | RSS MiB (median) |")
print("|---|---:|---:|---|---|---:|---:|---:|---:|")
base = None
for label in labels:
    rows = sorted(table.get(label, []), key=lambda r: r["round"])
    if not rows:
        print(f"| {label} | - | 0 | (no row: the runs failed) | | | | | |")
        continue
    us = [r["cpuSecondsPer1000Packets"] * 1000 for r in rows]
    ratios = [r["ratioToFloor"] for r in rows]
    med = statistics.median(ratios)
    if base is None:
        base = med
    change = (med / base - 1) * 100
    loss = max(r["lossPercent"] for r in rows)
    rss = statistics.median(r["rssMiB"] for r in rows)
    print(f"| {label} | {rows[0]['subscribers']} | {len(rows)} | {', '.join(f'{u:.2f}' for u in us)} | "
          f"{', '.join(f'{x:.2f}' for x in ratios)} | {med:.2f} | {change:+.1f}% | {loss:.2f} | {rss:.1f} |")
