#!/usr/bin/env python3
"""analyze.py — features, classifiers and the GFW exemption rules for the stealth bench.

Input: a run directory with classes.json, flows.jsonl (flows.py) and per workload W two
captures of the veth between the namespaces: W.hdr.pcap (every packet, headers only:
the pcap record keeps each packet's real length) and W.c2s.pcap (client-to-server
packets, whole, for the first payload packet's bytes).

Per flow (the TCP connection to the class's wire port whose SYN falls in the flow's
time window: the tunnel connection for proxies, the TLS connection for TLS):
  - the first 20 payload-carrying packets: size signed by direction (+ client to
    server) and the gap before each;
  - size histograms of payload packets (16 bins of 100 bytes, one per direction, as
    fractions); bytes each way and the up/(up+down) ratio; packet counts (all, payload,
    each way); duration; inter-arrival mean, std, median, p90, max;
  - the first payload packet (client to server): length, Shannon entropy (bits/byte),
    popcount (bits set per byte), printable fraction, longest printable run, its first
    three bytes.
Then, for each system and workload, 5-fold stratified cross-validated accuracy of a
random forest (sklearn, 100 trees, random_state 0) separating the system's flows from
TLS's, with all features, with the first-packet group only and with everything but it; and the fraction of first
payload packets exempt from blocking under the five exemption rules of Wu et al. (USENIX
Security 2023) for fully encrypted traffic.

Output: the table on stdout and in --table, everything in --json.
"""
import argparse
import json
import math
import statistics
import struct
import sys
from collections import defaultdict

NSEQ = 20
PRINTABLE = set(range(0x20, 0x7F))


# --- pcap -------------------------------------------------------------------------------

def read_pcap(path):
    """Yield (ts, caplen_data, orig_len) of each record; Ethernet or Linux cooked."""
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24:
            return
        magic = struct.unpack("<I", gh[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            endian = "<"
        else:
            endian = ">"
            magic = struct.unpack(">I", gh[:4])[0]
        nano = magic == 0xA1B23C4D
        linktype = struct.unpack(endian + "I", gh[20:24])[0]
        off = {1: 14, 113: 16, 276: 20}.get(linktype)
        if off is None:
            raise SystemExit("analyze: unsupported pcap link type %d in %s" % (linktype, path))
        rh = struct.Struct(endian + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, orig = rh.unpack(h)
            data = f.read(incl)
            if len(data) < incl:
                return
            yield sec + frac / (1e9 if nano else 1e6), data[off:], orig - off


def tcp_packets(path):
    """Yield (ts, src, sport, dst, dport, flags, payload_len, payload_bytes) of IPv4 TCP."""
    for ts, d, ip_len_wire in read_pcap(path):
        if len(d) < 20 or d[0] >> 4 != 4 or d[9] != 6:
            continue
        ihl = (d[0] & 15) * 4
        tot = struct.unpack("!H", d[2:4])[0]
        if len(d) < ihl + 20:
            continue
        t = d[ihl:]
        sport, dport = struct.unpack("!HH", t[:4])
        thl = (t[12] >> 4) * 4
        flags = t[13]
        plen = tot - ihl - thl
        payload = t[thl:thl + max(plen, 0)]
        yield ts, d[12:16], sport, d[16:20], dport, flags, plen, payload


# --- features ---------------------------------------------------------------------------

def entropy(b):
    if not b:
        return 0.0
    c = defaultdict(int)
    for x in b:
        c[x] += 1
    n = len(b)
    return -sum(v / n * math.log2(v / n) for v in c.values())


def popcount(b):
    return sum(bin(x).count("1") for x in b) / len(b) if b else 0.0


def longest_printable_run(b):
    best = cur = 0
    for x in b:
        cur = cur + 1 if x in PRINTABLE else 0
        best = max(best, cur)
    return best


def exemptions(b):
    """The five exemption rules of Wu et al. 2023 (section 4); True = exempt (not blocked)."""
    n = len(b)
    pc = popcount(b)
    ex1 = pc <= 3.4 or pc >= 4.6
    ex2 = n >= 6 and all(x in PRINTABLE for x in b[:6])
    ex3 = n > 0 and sum(x in PRINTABLE for x in b) / n > 0.5
    ex4 = longest_printable_run(b) > 20
    ex5 = (n >= 3 and b[0] in (0x16, 0x17) and b[1] == 0x03 and b[2] <= 0x09) or \
        any(b.startswith(m) for m in (b"GET ", b"PUT ", b"POST ", b"HEAD "))
    return {"ex1": ex1, "ex2": ex2, "ex3": ex3, "ex4": ex4, "ex5": ex5,
            "exempt": ex1 or ex2 or ex3 or ex4 or ex5}


def first_packet_features(b):
    n = len(b)
    return [n, entropy(b), popcount(b),
            (sum(x in PRINTABLE for x in b) / n) if n else 0.0,
            longest_printable_run(b),
            b[0] if n > 0 else -1, b[1] if n > 1 else -1, b[2] if n > 2 else -1]


FIRST_NAMES = ["fp_len", "fp_entropy", "fp_popcount", "fp_printable", "fp_run",
               "fp_b0", "fp_b1", "fp_b2"]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


def flow_features(pkts, first_payload):
    """pkts: [(ts, dir, plen)] in time order; first_payload: bytes."""
    t0 = pkts[0][0]
    pay = [(t, d, n) for t, d, n in pkts if n > 0]
    seq, gaps = [], []
    prev = None
    for t, d, n in pay[:NSEQ]:
        seq.append(d * n)
        gaps.append(0.0 if prev is None else (t - prev) * 1000)
        prev = t
    seq += [0] * (NSEQ - len(seq))
    gaps += [-1.0] * (NSEQ - len(gaps))
    hist = []
    for d in (1, -1):
        sizes = [n for _, dd, n in pay if dd == d]
        h = [0] * 16
        for n in sizes:
            h[min(15, (n - 1) // 100)] += 1
        hist += [x / len(sizes) if sizes else 0.0 for x in h]
    up = sum(n for _, d, n in pkts if d == 1)
    down = sum(n for _, d, n in pkts if d == -1)
    iat = [(pkts[i][0] - pkts[i - 1][0]) * 1000 for i in range(1, len(pkts))] or [0.0]
    counts = [len(pkts), sum(1 for p in pkts if p[1] == 1), sum(1 for p in pkts if p[1] == -1),
              len(pay), sum(1 for p in pay if p[1] == 1), sum(1 for p in pay if p[1] == -1)]
    dur = pkts[-1][0] - t0
    misc = [up, down, up / (up + down) if up + down else 0.0, math.log1p(up + down), dur,
            statistics.mean(iat), statistics.pstdev(iat), statistics.median(iat), pct(iat, 0.9), max(iat)]
    return seq + gaps + hist + counts + misc + first_packet_features(first_payload)


def extract(run, classes, flows, workload):
    """[(cls, features, first_payload, flow_rec)] for one workload's captures."""
    wire = {}
    client_ip = None
    for c in classes:
        wire[c["wire_port"]] = c["name"]
        client_ip = bytes(int(x) for x in c["client_ip"].split("."))
    conns = defaultdict(list)     # (cport, sport) -> [(ts, dir, plen)]
    syn = {}
    for ts, src, sp, dst, dp, flags, plen, _ in tcp_packets("%s/%s.hdr.pcap" % (run, workload)):
        if src == client_ip and dp in wire:
            key, d = (sp, dp), 1
        elif dst == client_ip and sp in wire:
            key, d = (dp, sp), -1
        else:
            continue
        if flags & 0x02 and not flags & 0x10 and d == 1 and key not in syn:
            syn[key] = ts
        conns[key].append((ts, d, plen))
    firsts = {}
    for ts, src, sp, dst, dp, flags, plen, payload in tcp_packets("%s/%s.c2s.pcap" % (run, workload)):
        if src == client_ip and dp in wire and plen > 0 and (sp, dp) not in firsts:
            firsts[(sp, dp)] = bytes(payload)
    out, unmatched = [], 0
    by_cls = defaultdict(list)
    for f in flows:
        if f["workload"] == workload and f["ok"]:
            by_cls[f["cls"]].append(f)
    used = set()
    for key, t in sorted(syn.items(), key=lambda kv: kv[1]):
        name = wire[key[1]]
        match = [f for f in by_cls[name] if f["t0"] - 0.05 <= t <= f["t1"] and id(f) not in used]
        if not match or key not in firsts:
            unmatched += 1
            continue
        f = match[0]
        used.add(id(f))
        out.append((name, flow_features(conns[key], firsts[key]), firsts[key], f))
    return out, unmatched


# --- classifiers ------------------------------------------------------------------------

def rf_accuracy(xa, xb):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    import numpy as np
    if len(xa) < 5 or len(xb) < 5:
        return None
    X = np.array(xa + xb, dtype=float)
    y = np.array([0] * len(xa) + [1] * len(xb))
    clf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return float(cross_val_score(clf, X, y, cv=cv, scoring="accuracy").mean())


def feature_names():
    names = ["seq%d" % i for i in range(NSEQ)] + ["gap%d" % i for i in range(NSEQ)]
    names += ["hist_up%d" % i for i in range(16)] + ["hist_down%d" % i for i in range(16)]
    names += ["pkts", "pkts_up", "pkts_down", "pay_pkts", "pay_up", "pay_down"]
    names += ["bytes_up", "bytes_down", "up_ratio", "log_bytes", "duration",
              "iat_mean", "iat_std", "iat_median", "iat_p90", "iat_max"]
    return names + FIRST_NAMES


def top_features(xa, xb, k=5):
    """The k most important features (impurity) of a forest fitted on all the flows."""
    from sklearn.ensemble import RandomForestClassifier
    import numpy as np
    if len(xa) < 5 or len(xb) < 5:
        return []
    clf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
    clf.fit(np.array(xa + xb, dtype=float), [0] * len(xa) + [1] * len(xb))
    names = feature_names()
    order = sorted(range(len(names)), key=lambda i: -clf.feature_importances_[i])[:k]
    return [[names[i], round(float(clf.feature_importances_[i]), 3)] for i in order]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--table", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--workloads", default="web,bulk,interactive")
    a = ap.parse_args()
    classes = json.load(open(a.run + "/classes.json"))
    flows = [json.loads(l) for l in open(a.run + "/flows.jsonl") if l.strip()]
    workloads = a.workloads.split(",")
    nfirst = len(FIRST_NAMES)
    data = defaultdict(list)      # (cls, workload) -> [(features, first_payload, flow)]
    notes = []
    for w in workloads:
        rows, unmatched = extract(a.run, classes, flows, w)
        for name, feat, fp, f in rows:
            data[(name, w)].append((feat, fp, f))
        notes.append("%s: %d flows matched to connections on the wire, %d connections unmatched"
                     % (w, len(rows), unmatched))
    names = [c["name"] for c in classes]
    base = "tls"
    results = []
    for name in names:
        for w in workloads:
            rows = data[(name, w)]
            r = {"system": name, "workload": w, "flows": len(rows),
                 "flows_run": sum(1 for f in flows if f["cls"] == name and f["workload"] == w),
                 "flows_failed": sum(1 for f in flows if f["cls"] == name and f["workload"] == w and not f["ok"])}
            if name != base:
                tl = [x[0] for x in data[(base, w)]]
                me = [x[0] for x in rows]
                r["rf_all"] = rf_accuracy(tl, me)
                r["rf_first"] = rf_accuracy([x[-nfirst:] for x in tl], [x[-nfirst:] for x in me])
                # Without the first-packet group: what sizes, directions and timing alone give away.
                r["rf_rest"] = rf_accuracy([x[:-nfirst] for x in tl], [x[:-nfirst] for x in me])
                r["top_features"] = top_features(tl, me)
            ex = [exemptions(x[1]) for x in rows]
            if ex:
                r["exempt"] = sum(e["exempt"] for e in ex) / len(ex)
                for k in ("ex1", "ex2", "ex3", "ex4", "ex5"):
                    r[k] = sum(e[k] for e in ex) / len(ex)
                r["fp_len_min"] = min(len(x[1]) for x in rows)
                r["fp_len_max"] = max(len(x[1]) for x in rows)
                r["fp_popcount_mean"] = statistics.mean(popcount(x[1]) for x in rows)
            ok = [f for f in flows if f["cls"] == name and f["workload"] == w and f["ok"]]
            if w == "bulk" and ok:
                r["mbps"] = statistics.median(f["mbps"] for f in ok)
            if w == "interactive" and ok:
                r["lat_ms"] = statistics.median(x * 1000 for f in ok for x in f["lat"])
            if w == "web" and ok:
                r["web_dur_s"] = statistics.median(f["dur"] for f in ok)
            results.append(r)
    # Cost against mimic off of the same mode.
    by = {(r["system"], r["workload"]): r for r in results}
    for r in results:
        sysname = r["system"]
        if not sysname.startswith(("agg-", "dist-")) or sysname.endswith("-off"):
            continue
        off = by.get((sysname.split("-")[0] + "-off", r["workload"]))
        if off and "mbps" in r and off.get("mbps"):
            r["mbps_x_off"] = r["mbps"] / off["mbps"]
        if off and "lat_ms" in r and off.get("lat_ms"):
            r["lat_x_off"] = r["lat_ms"] / off["lat_ms"]

    def f_acc(v):
        return "-" if v is None else "%.1f %%" % (100 * v)
    lines = []
    head = "%-13s %-11s %5s %9s %10s %10s %8s %18s %20s" % (
        "system", "workload", "flows", "RF all", "RF 1st pkt", "RF no 1st", "exempt", "MB/s (x off)",
        "latency ms (x off)")
    lines.append(head)
    lines.append("-" * len(head))
    for r in results:
        mb = "-"
        if "mbps" in r:
            mb = "%.1f" % r["mbps"] + (" (x%.2f)" % r["mbps_x_off"] if "mbps_x_off" in r else "")
        lat = "-"
        if "lat_ms" in r:
            lat = "%.2f" % r["lat_ms"] + (" (x%.2f)" % r["lat_x_off"] if "lat_x_off" in r else "")
        lines.append("%-13s %-11s %5s %9s %10s %10s %8s %18s %20s" % (
            r["system"], r["workload"], "%d" % r["flows"],
            f_acc(r.get("rf_all")) if r["system"] != base else "(base)",
            f_acc(r.get("rf_first")) if r["system"] != base else "(base)",
            f_acc(r.get("rf_rest")) if r["system"] != base else "(base)",
            f_acc(r.get("exempt")), mb, lat))
    lines.append("")
    lines.append("Exemption rules, fraction of first payload packets (all workloads) that each rule exempts:")
    lines.append("%-13s %6s %6s %6s %6s %6s %8s %14s %10s" % (
        "system", "Ex1", "Ex2", "Ex3", "Ex4", "Ex5", "exempt", "1st pkt bytes", "popcount"))
    summary = {}
    for name in names:
        rows = [x for w in workloads for x in data[(name, w)]]
        if not rows:
            continue
        ex = [exemptions(x[1]) for x in rows]
        s = {k: sum(e[k] for e in ex) / len(ex) for k in ("ex1", "ex2", "ex3", "ex4", "ex5", "exempt")}
        s["n"] = len(rows)
        summary[name] = s
        lens = [len(x[1]) for x in rows]
        lines.append("%-13s %5.0f%% %5.0f%% %5.0f%% %5.0f%% %5.0f%% %7.1f%% %14s %10.2f" % (
            name, *(100 * s[k] for k in ("ex1", "ex2", "ex3", "ex4", "ex5", "exempt")),
            "%d..%d" % (min(lens), max(lens)), statistics.mean(popcount(x[1]) for x in rows)))
    lines.append("")
    lines.append("Most important features (random forest fitted on all flows of the pair, impurity):")
    for r in results:
        if r.get("top_features"):
            lines.append("  %-13s %-11s %s" % (r["system"], r["workload"],
                                              ", ".join("%s %.2f" % tuple(t) for t in r["top_features"][:4])))
    lines.append("")
    lines += notes
    text = "\n".join(lines)
    print(text)
    open(a.table, "w").write(text + "\n")
    json.dump({"results": results, "exemption": summary, "notes": notes}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
