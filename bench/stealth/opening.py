#!/usr/bin/env python3
"""opening.py — the first packets of each flow, side by side, from a kept stealth run.

Usage: opening.py RUN_DIR [--workload web] [--classes tls,agg-default,dist-default]
                  [-k FLOWS] [-n PACKETS]

RUN_DIR is the run/ directory of a stealth_bench temp dir kept with BENCH_KEEP=1.
For each class it prints k flows as rows of "+size/gap" (+ client to server, gap in
ms before the packet) and, per position, the median signed size and gap over all
the class's flows, so that the openings of TLS and mimicsocks can be compared.
"""
import argparse
import json
import statistics
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import analyze  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--workload", default="web")
    ap.add_argument("--classes", default="tls,agg-default,dist-default")
    ap.add_argument("-k", type=int, default=3)
    ap.add_argument("-n", type=int, default=20)
    a = ap.parse_args()
    classes = json.load(open(a.run + "/classes.json"))
    flows = [json.loads(l) for l in open(a.run + "/flows.jsonl") if l.strip()]
    rows, _ = analyze.extract(a.run, classes, flows, a.workload)
    n = min(a.n, analyze.NSEQ)
    for name in a.classes.split(","):
        feats = [f for c, f, _, _ in rows if c == name]
        if not feats:
            print("%s: no flows" % name)
            continue
        print("== %s (%d flows, %s)" % (name, len(feats), a.workload))
        for f in feats[:a.k]:
            seq, gaps = f[:analyze.NSEQ], f[analyze.NSEQ:2 * analyze.NSEQ]
            print("  " + " ".join("%+d/%.1f" % (s, g) for s, g in zip(seq[:n], gaps[:n]) if s))
        med_s = [statistics.median(f[i] for f in feats) for i in range(n)]
        med_g = [statistics.median(f[analyze.NSEQ + i] for f in feats) for i in range(n)]
        print("  median: " + " ".join("%+d/%.1f" % (s, g) for s, g in zip(med_s, med_g)))


if __name__ == "__main__":
    main()
