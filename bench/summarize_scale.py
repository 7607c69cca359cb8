"""Summarises bench/scale.sh: per run, the largest N held and each row's figures, then the ratio
of the two-worker largest N to the one-worker one (median over rounds). Writes scale.json next to
the runs."""
import json
import os
import statistics
import sys

runs_dir = sys.argv[1]
runs = []
for name in sorted(os.listdir(runs_dir)):
    path = os.path.join(runs_dir, name, "load.json")
    if not os.path.isfile(path):
        continue
    mode, round_ = name.split(".")
    with open(path) as f:
        data = json.load(f)
    runs.append({"mode": mode, "round": int(round_), "largest": data.get("largestUnderOnePercentLoss", {}).get("sluice"),
                 "firstFailing": data.get("firstFailing", {}).get("sluice"), "pinning": data.get("pinning"),
                 "loadAverage": [data.get("loadAverageAtStart"), data.get("loadAverageAtEnd")],
                 "rows": [{k: r.get(k) for k in ("subscribers", "lossPercent", "cpuSecondsPer1000Packets", "ratioToFloor",
                                                  "serverCPUPercent", "loadToolCPUPercent", "delayP50Milliseconds",
                                                  "rssMiB", "settled", "subscribersReceiving")}
                          for r in data.get("rows", []) if r.get("server") == "sluice"]})

print("# One room over cores: largest N held, one worker on one core vs two workers on both\n")
print("`bench/scale.sh`: sluice-load's search (under 1% loss, delay settled, every subscriber receiving) "
      "against a release Sluice with `media_workers: 1` pinned to one core (load tool on the other), then "
      "`media_workers: 2`, `spread_rooms_after: 1` on both cores (the load tool shares them), in turns.\n")
for run in runs:
    print(f"## {run['mode']} worker(s), round {run['round']}: largest N held {run['largest']}, "
          f"first failing {run['firstFailing']}")
    print(f"{run['pinning']}; load average {run['loadAverage'][0]:.2f} -> {run['loadAverage'][1]:.2f}\n")
    print("| N | loss % | µs CPU / fwd pkt | x floor | server CPU % | tool CPU % | delay p50 ms | RSS MiB | settled |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in run["rows"]:
        def f(v, d=2):
            return "-" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))
        print(f"| {r['subscribers']} | {f(r['lossPercent'])} | {f((r['cpuSecondsPer1000Packets'] or 0) * 1000)} | "
              f"{f(r['ratioToFloor'])} | {f(r['serverCPUPercent'], 0)} | {f(r['loadToolCPUPercent'], 0)} | "
              f"{f(r['delayP50Milliseconds'], 1)} | {f(r['rssMiB'], 0)} | {r['settled']} |")
    print()
one = [r["largest"] for r in runs if r["mode"] == "one" and r["largest"]]
two = [r["largest"] for r in runs if r["mode"] == "two" and r["largest"]]
summary = {"runs": runs}
if one and two:
    ratio = statistics.median(two) / statistics.median(one)
    summary["ratio"] = ratio
    print(f"**Largest N: one worker {one}, two workers {two}: ratio {ratio:.2f}** (target >= 1.5)")
with open(os.path.join(runs_dir, "scale.json"), "w") as f:
    json.dump(summary, f, indent=1)
