#!/usr/bin/env python3
"""make bench's report: reads bench/out/runs/*/{meta.json,time.txt,stats.csv},
prints the table, writes results.csv and chart.svg (by hand: no
dependencies beyond Python's standard library). For the store scenario
(SC-store) it also reads the S3 counts (s3-apply.json, s3-plan.json, from
bench/s3count) and prints the store table, written to store.csv too."""
import csv
import json
import math
import os
import re
import sys
from html import escape

TOOLS = ["mfabulk", "mfabulk-s3", "boto3-standard", "boto3-adaptive", "awscli"]
COLORS = {"mfabulk": "#1f77b4", "mfabulk-s3": "#9467bd", "boto3-standard": "#ff7f0e", "boto3-adaptive": "#2ca02c",
          "awscli": "#d62728"}
SCENARIOS = ["nolimit", "rate10", "rate50", "rate200", "lat50", "lat150",
             "rate10-store", "rate20-store", "rate50-store", "rate200-store"]
LABELS = {
    "nolimit": "no limit, no latency",
    "rate10": "10 req/s, 50 ms",
    "rate50": "50 req/s, 50 ms",
    "rate200": "200 req/s, 50 ms",
    "lat50": "no limit, 50 ms",
    "lat150": "no limit, 150 ms",
}


def label(sc):
    if sc.endswith("-store"):
        return label(sc[: -len("-store")]) + ": folder, S3 store"
    if sc not in LABELS and sc.startswith("rate") and sc[4:].isdigit():
        return f"{sc[4:]} req/s, 50 ms"
    return LABELS.get(sc, sc)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def load(out):
    runs = []
    for d in sorted(os.listdir(os.path.join(out, "runs"))):
        path = os.path.join(out, "runs", d)
        try:
            with open(os.path.join(path, "meta.json")) as f:
                m = json.load(f)
        except FileNotFoundError:
            continue
        m["wall"] = (m["end_ms"] - m["start_ms"]) / 1000
        m["rss_mb"] = 0.0
        try:
            with open(os.path.join(path, "time.txt")) as f:
                r = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
                if r:
                    m["rss_mb"] = int(r.group(1)) / 1024
        except FileNotFoundError:
            pass
        m["seconds"] = []
        try:
            with open(os.path.join(path, "stats.csv")) as f:
                for row in csv.DictReader(f):
                    # only the seconds of the run: the store scenario's
                    # plan, after it, calls the same iamlocal.
                    if int(row["start_unix_ms"]) < m["end_ms"]:
                        m["seconds"].append({k: int(v) for k, v in row.items()})
        except FileNotFoundError:
            pass
        m["s3_apply"] = read_json(os.path.join(path, "s3-apply.json"))
        m["s3_plan"] = read_json(os.path.join(path, "s3-plan.json"))
        m["plan"] = read_json(os.path.join(path, "plan.json"))
        m["ceiling"] = read_json(os.path.join(path, "ceiling.json"))
        m["s3_ceiling"] = read_json(os.path.join(path, "s3-ceiling.json"))
        m["served"] = sum(s["served"] for s in m["seconds"])
        m["throttled"] = sum(s["throttled"] for s in m["seconds"])
        m["failed"] = m["devices"] - m["ok"]
        m["rate"] = m["ok"] / m["wall"] if m["wall"] > 0 else 0
        # The fraction of the limit: requests served a second over the run.
        m["of_limit"] = (m["served"] / m["wall"] / m["limit"]) if m["limit"] and m["wall"] > 0 else None
        # …and over the create phase: the whole seconds between the first
        # device created and the last. iamlocal counts by its own seconds,
        # from its start: the second of the first create and the second of
        # the last are partial (the tool started, or finished, within
        # them), and counting them as whole seconds reads low by up to two
        # seconds' worth of calls (7 % of a 30 s run), more the shorter the
        # run. So they are left out when there are whole seconds between.
        secs = [i for i, x in enumerate(m["seconds"]) if x["created"]]
        m["of_limit_create"] = None
        if m["limit"] and secs:
            lo, hi = secs[0], secs[-1] + 1
            if hi - lo > 2:
                lo, hi = lo + 1, hi - 1
            phase = m["seconds"][lo:hi]
            m["of_limit_create"] = sum(x["served"] for x in phase) / len(phase) / m["limit"]
        runs.append(m)
    order = {t: i for i, t in enumerate(TOOLS)}
    sc = {s: i for i, s in enumerate(SCENARIOS)}
    runs.sort(key=lambda m: (sc.get(m["scenario"], 99), m["scenario"], order.get(m["tool"], 99)))
    return runs


def table(runs):
    head = ["tool", "scenario", "ok", "failed", "wall s", "devices/s", "of limit", "of limit (create)", "throttled", "requests", "peak RSS MB"]
    rows = []
    for m in runs:
        rows.append([
            m["tool"], m["scenario"], str(m["ok"]), str(m["failed"]), f"{m['wall']:.1f}", f"{m['rate']:.1f}",
            "—" if m["of_limit"] is None else f"{m['of_limit']:.2f}",
            "—" if m["of_limit_create"] is None else f"{m['of_limit_create']:.2f}", str(m["throttled"]),
            str(m["served"] + m["throttled"]), f"{m['rss_mb']:.0f}",
        ])
    return markdown(head, rows)


def markdown(head, rows):
    w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |",
             "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |")
    return "\n".join(lines)


def store_rows(runs):
    """One row per store scenario: the folder's run and the store's, side
    by side, with the store's S3 requests (apply: per device created;
    plan: per 1,000 devices in the store, scaled from the run's)."""
    out = []
    for sc in sorted({m["scenario"] for m in runs if m["scenario"].endswith("-store")}, key=lambda x: runs_order(x)):
        folder = next((m for m in runs if m["scenario"] == sc and m["tool"] == "mfabulk"), None)
        s3 = next((m for m in runs if m["scenario"] == sc and m["tool"] == "mfabulk-s3"), None)
        if s3 is None:
            continue
        r = {"scenario": sc, "s3_latency": s3.get("s3_latency", "0"), "limit": s3["limit"], "devices": s3["devices"], "ok": s3["ok"], "keys": s3.get("s3_keys", 0),
             "folder_of_limit": folder and folder["of_limit"], "folder_of_limit_create": folder and folder["of_limit_create"],
             "store_of_limit": s3["of_limit"], "store_of_limit_create": s3["of_limit_create"],
             "folder_wall": folder and folder["wall"], "store_wall": s3["wall"]}
        r["ratio_create"] = (r["store_of_limit_create"] / r["folder_of_limit_create"]
                             if r["store_of_limit_create"] and r["folder_of_limit_create"] else None)
        a, p = s3["s3_apply"], s3["s3_plan"]
        r["apply_s3"] = a and a["total"]
        objects, once = apply_split(a["by_op"]) if a else (0, 0)
        r["apply_s3_per_device"] = objects / s3["ok"] if a and s3["ok"] else None
        r["apply_s3_per_run"] = once if a else None
        r["apply_s3_ms"] = 1000 * sum(a["target_seconds_by_op"].values()) / a["total"] if a and a["total"] else None
        # S3 requests a second over the apply (the emulator's load), and
        # in its busiest second.
        r["apply_s3_rps"] = a["total"] / s3["wall"] if a and s3["wall"] > 0 else None
        r["apply_s3_peak_rps"] = max(a.get("per_second") or [0]) if a else None
        r["plan_s3"] = p and p["total"]
        r["plan_s3_per_1000"] = plan_per_1000(p, s3["ok"], s3.get("s3_keys", 0)) if p and s3["ok"] else None
        pl = s3["plan"]
        r["plan_wall"] = (pl["end_ms"] - pl["start_ms"]) / 1000 if pl else None
        r["plan_exit"] = pl and pl["exit"]
        c, cc = s3["ceiling"], s3["s3_ceiling"]
        r["ceiling"] = c and c["devices_per_s"]
        r["ceiling_of_limit"] = c["devices_per_s"] / s3["limit"] if c and s3["limit"] else None
        r["ceiling_s3_rps"] = cc["total"] / c["seconds"] if c and cc and c["seconds"] > 0 else None
        r["ceiling_s3_ms"] = 1000 * sum(cc["target_seconds_by_op"].values()) / cc["total"] if cc and cc["total"] else None
        r["apply_ops"], r["plan_ops"] = (a or {}).get("by_op", {}), (p or {}).get("by_op", {})
        r["apply_status"], r["plan_status"] = (a or {}).get("by_op_status", {}), (p or {}).get("by_op_status", {})
        out.append(r)
    return out


def plan_per_1000(p, devices, keys):
    """A plan's S3 requests for 1,000 devices, from one of devices: the
    reads scale with the devices, the LISTs with the pages of 1,000 keys
    (a plan of 300 devices lists one page, of 1,000 two or more)."""
    return sum(plan_op_per_1000(op, n, devices, keys) for op, n in p["by_op"].items())


def plan_op_per_1000(op, n, devices, keys):
    if per_run(op):
        return n
    if not op.startswith("List"):
        return n * 1000 / devices
    pages = math.ceil(keys / 1000)
    return n / pages * math.ceil(keys / devices) if pages else n * 1000 / devices


def per_run(op):
    """Bucket-level calls (the preflight's) are made once a run, whatever
    the devices: HeadBucket, GetBucketVersioning, GetPublicAccessBlock…"""
    return op in ("HeadBucket", "ListBuckets", "GetPublicAccessBlock") or "Bucket" in op


def apply_split(ops):
    """(requests on devices' objects, requests once a run: the bucket's
    and the LISTs of the prefix)."""
    run = sum(n for op, n in ops.items() if per_run(op) or op.startswith("List"))
    return sum(ops.values()) - run, run


def runs_order(sc):
    return SCENARIOS.index(sc) if sc in SCENARIOS else 99


def fmt(v, f="{:.2f}"):
    return "—" if v is None else f.format(v)


def store_table(rows):
    head = ["scenario", "devices", "folder: of limit (create; run)", "store: of limit (create; run)", "store / folder (create)",
            "apply: S3 requests", "S3 per device (+ per run)", "S3/s (peak)", "moto ms per request", "plan: S3 requests", "plan s", "S3 per 1,000 devices (plan)",
            "ceiling devices/s (of limit)"]
    body = []
    for r in rows:
        body.append([r["scenario"], f"{r['ok']}/{r['devices']}",
                     f'{fmt(r["folder_of_limit_create"])}; {fmt(r["folder_of_limit"])}',
                     f'{fmt(r["store_of_limit_create"])}; {fmt(r["store_of_limit"])}',
                     fmt(r["ratio_create"]), fmt(r["apply_s3"], "{}"),
                     f'{fmt(r["apply_s3_per_device"])} (+{fmt(r["apply_s3_per_run"], "{}")})',
                     f'{fmt(r["apply_s3_rps"], "{:.0f}")} ({fmt(r["apply_s3_peak_rps"], "{}")})', fmt(r["apply_s3_ms"], "{:.1f}"),
                     fmt(r["plan_s3"], "{}"), fmt(r["plan_wall"], "{:.1f}"), fmt(r["plan_s3_per_1000"], "{:.0f}"),
                     f'{fmt(r["ceiling"], "{:.1f}")} ({fmt(r["ceiling_of_limit"])})'])
    lines = [markdown(head, body)]
    for r in rows:
        for what, ops, status, unit in (("apply", r["apply_ops"], r["apply_status"], "per device"),
                                        ("plan", r["plan_ops"], r["plan_status"], "per 1,000 devices")):
            if not ops or not r["ok"]:
                continue
            parts = []
            for op, n in sorted(ops.items(), key=lambda kv: -kv[1]):
                codes = ", ".join(f"{c}: {k}" for c, k in sorted(status.get(op, {}).items()) if c[0] != "2")
                if what == "apply" and (per_run(op) or op.startswith("List")):
                    parts.append(f"{op} {n} a run" + (f" ({codes})" if codes else ""))
                    continue
                v = n / r["ok"] if what == "apply" else plan_op_per_1000(op, n, r["ok"], r["keys"])
                parts.append(f"{op} {v:.2f}" + (f" ({n}; {codes})" if codes else f" ({n})"))
            lines.append(f"{r['scenario']} {what}, S3 requests {unit}: " + "; ".join(parts))
    for r in rows:
        if r["s3_latency"] not in ("", "0"):
            lines.append(f"{r['scenario']}: every S3 request delayed {r['s3_latency']} by s3count (BENCH_S3_LATENCY)")
        if r["ceiling"] is not None:
            lines.append(f"{r['scenario']} ceiling: the store's protocol alone, 64 devices at a time and no IAM, "
                         f"{r['ceiling']:.1f} devices/s on this endpoint ({fmt(r['ceiling_s3_rps'], '{:.0f}')} S3 requests/s, "
                         f"{fmt(r['ceiling_s3_ms'], '{:.0f}')} ms each): an apply into it cannot pass that, whatever IAM's limit")
    lines.append("(S3 per device: the apply's requests on objects over the devices created, plus those made once a run: "
                 "the bucket's preflight and the LISTs; per 1,000 devices: the plan's object reads scaled by "
                 "1,000 / devices, its LISTs by the pages of 1,000 keys that 1,000 devices' keys fill, the bucket's "
                 "preflight as it is; in brackets: the counts measured, and the statuses other than 2xx)")
    return "\n".join(lines)


def write_store_csv(rows, path):
    cols = ["scenario", "limit", "devices", "ok", "folder_of_limit", "folder_of_limit_create", "store_of_limit",
            "store_of_limit_create", "ratio_create", "folder_wall", "store_wall", "apply_s3", "apply_s3_per_device",
            "apply_s3_per_run", "apply_s3_rps", "apply_s3_peak_rps", "apply_s3_ms", "ceiling", "ceiling_of_limit", "ceiling_s3_rps",
            "ceiling_s3_ms", "plan_s3", "plan_s3_per_1000", "plan_wall", "plan_exit"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols + ["apply_ops", "plan_ops"])
        for r in rows:
            w.writerow(["" if r[c] is None else (f"{r[c]:.3f}" if isinstance(r[c], float) else r[c]) for c in cols]
                       + [json.dumps(r["apply_ops"], sort_keys=True), json.dumps(r["plan_ops"], sort_keys=True)])


def write_csv(runs, path):
    cols = ["tool", "scenario", "limit", "devices", "ok", "failed", "wall", "rate", "of_limit", "of_limit_create", "throttled", "served", "rss_mb", "exit"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tool", "scenario", "limit_rps", "devices", "ok", "failed", "wall_s", "devices_per_s",
                    "fraction_of_limit", "fraction_of_limit_create_phase", "throttled", "served_requests", "peak_rss_mb", "exit"])
        for m in runs:
            row = []
            for c in cols:
                v = m[c]
                row.append("" if v is None else (f"{v:.3f}" if isinstance(v, float) else v))
            w.writerow(row)


def series(m):
    """(seconds since the tool started, devices created so far) points."""
    pts, total = [(0.0, 0)], 0
    for s in m["seconds"]:
        if not s["created"]:
            continue
        total += s["created"]
        t = (s["start_unix_ms"] - m["start_ms"]) / 1000 + 1
        pts.append((max(t, 0.0), total))
    return pts


def chart(runs, path):
    scen = sorted({m["scenario"] for m in runs}, key=lambda x: (runs_order(x), x))
    cols, pw, ph, pad = 3, 360, 240, 48
    rows = (len(scen) + cols - 1) // cols
    W, H = cols * (pw + pad) + pad, rows * (ph + pad + 20) + 70
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{pad}" y="22" font-size="15" font-weight="bold">Devices created over time, per tool (make bench)</text>']
    lx = pad
    for t in TOOLS:
        o.append(f'<line x1="{lx}" y1="40" x2="{lx + 20}" y2="40" stroke="{COLORS[t]}" stroke-width="2"/>'
                 f'<text x="{lx + 25}" y="44">{t}</text>')
        lx += 130
    o.append(f'<line x1="{lx}" y1="40" x2="{lx + 20}" y2="40" stroke="#555" stroke-dasharray="5,4"/><text x="{lx + 25}" y="44">rate limit</text>')
    for k, sc in enumerate(scen):
        x0 = pad + (k % cols) * (pw + pad)
        y0 = 70 + (k // cols) * (ph + pad + 20)
        ms = [m for m in runs if m["scenario"] == sc]
        tmax = max([m["wall"] for m in ms] + [1])
        ymax = max([m["devices"] for m in ms] + [1])
        X = lambda t: x0 + t / tmax * pw  # noqa: E731
        Y = lambda v: y0 + ph - v / ymax * ph  # noqa: E731
        o.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
        o.append(f'<text x="{x0}" y="{y0 - 6}" font-weight="bold">{escape(label(sc))}</text>')
        for i in range(5):
            v = ymax * i / 4
            t = tmax * i / 4
            o.append(f'<text x="{x0 - 4}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
            o.append(f'<text x="{X(t):.1f}" y="{y0 + ph + 14}" text-anchor="middle">{t:.0f}s</text>')
        lim = ms[0]["limit"] if ms else 0
        if lim:  # a device is one create call: the limit is lim devices a second
            t_end = min(tmax, ymax / lim)
            o.append(f'<line x1="{X(0):.1f}" y1="{Y(0):.1f}" x2="{X(t_end):.1f}" y2="{Y(lim * t_end):.1f}" '
                     f'stroke="#555" stroke-dasharray="5,4"/>')
        for m in ms:
            pts = series(m)
            d = " ".join(f"{X(min(t, tmax)):.1f},{Y(v):.1f}" for t, v in pts)
            o.append(f'<polyline points="{d}" fill="none" stroke="{COLORS.get(m["tool"], "#000")}" stroke-width="2">'
                     f'<title>{escape(m["tool"])}: {m["ok"]} ok in {m["wall"]:.1f} s</title></polyline>')
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/out"
    runs = load(out)
    print(table(runs))
    write_csv(runs, os.path.join(out, "results.csv"))
    chart(runs, os.path.join(out, "chart.svg"))
    wrote = [os.path.join(out, "results.csv"), os.path.join(out, "chart.svg")]
    rows = store_rows(runs)
    if rows:
        print("\nThe S3 store against a folder, at the same IAM limit (S3: moto_server, counted by bench/s3count):\n")
        print(store_table(rows))
        write_store_csv(rows, os.path.join(out, "store.csv"))
        wrote.append(os.path.join(out, "store.csv"))
    print("\nwrote " + ", ".join(wrote))


if __name__ == "__main__":
    main()
