#!/usr/bin/env python3
"""Print the markdown table of tests/benches/predict.sh from a results folder.

    tests/benches/predict_table.py RESULTS_DIR

RESULTS_DIR holds what predict.sh wrote: load.csv (the harness's CSV, one row per run, labels
`reference`, `wasml`, `interactive-reference`, `interactive-<model>`), large.csv,
cold-<label>.txt (cold_start.sh's output) and settings.txt. Medians over the reps; ratio is
wasml / reference (above 1: wasml more of it, be it req/s or microseconds).
"""
import csv
import os
import re
import statistics
import sys

INTERACTIVE = [
    ("substring-matching", "Rust"),
    ("substring-matching-c", "C"),
    ("substring-matching-js", "JavaScript"),
    ("substring-matching-python", "Python"),
]


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if x != x else x  # nan


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    """Thousands separated; at least one decimal below 10."""
    if v is None:
        return "n/a"
    if digits == 0 and abs(v) < 10:
        digits = 1
    return f"{v:,.{digits}f}"


def pct(v):
    return "n/a" if v is None else f"{v:.0f}%"


def ratio(w, r):
    if w is None or r is None or r == 0:
        return "n/a"
    x = w / r
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    load = read_csv(os.path.join(out, "load.csv"))
    large = {r["label"]: r for r in read_csv(os.path.join(out, "large.csv"))}

    def stat(label, scenario, column):
        return median(num(r[column]) for r in load if r["label"] == label and r["scenario"] == scenario)

    def foreign(labels):
        vals = [num(r["foreign_cpu_during_pct"]) for r in load if r["label"] in labels]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    rows = []

    def row(name, r, w, digits=0):
        rows.append((name, fmt(r, digits), fmt(w, digits), ratio(w, r)))

    row("`/predict`, 1 task: req/s", stat("reference", "predict_1", "req_s"), stat("wasml", "predict_1", "req_s"))
    cpu = [stat(lab, "predict_1", "server_cpu_ms_per_req") for lab in ("reference", "wasml")]
    row("`/predict`, 1 task: server CPU per request (µs)", *[None if c is None else c * 1000 for c in cpu])
    row("`/predict`, 1 task: p50 latency (ms)", stat("reference", "predict_1", "p50_ms"),
        stat("wasml", "predict_1", "p50_ms"), 2)
    row("`/predict`, 1 task: p99 latency (ms)", stat("reference", "predict_1", "p99_ms"),
        stat("wasml", "predict_1", "p99_ms"), 2)
    row("`/predict`, 100 tasks: tasks/s", stat("reference", "predict_100", "tasks_s"),
        stat("wasml", "predict_100", "tasks_s"))
    row("`/webhook` (fit): req/s", stat("reference", "webhook", "req_s"), stat("wasml", "webhook", "req_s"))
    peak = [max((num(r["peak_rss_kb"]) or 0 for r in load if r["label"] == lab), default=None) for lab in ("reference", "wasml")]
    row("peak RSS under that load (MB)", *[None if not p else p / 1024 for p in peak], 1)
    ref_i = stat("interactive-reference", "predict_1", "req_s")
    for model, lang in INTERACTIVE:
        row(f"interactive substring matching: req/s, {lang} (`{model}`)", ref_i,
            stat(f"interactive-{model}", "predict_1", "req_s"))

    lr, lw = large.get("reference"), large.get("wasml")
    if lr or lw:
        any_row = lw or lr
        choices, size = int(any_row["choices"]), int(any_row["config_bytes"])
        n_w = int(lw["requests"]) if lw else 0
        name = f"large label config ({choices:,} choices, {size / 1e6:.1f} MB): median `/predict` (ms)"
        if lr and lw and lr["requests"] != lw["requests"]:
            name += f" (reference: {lr['requests']} of {n_w} requests, time budget)"
        g = lambda r, k, scale: None if r is None else num(r[k]) * scale  # noqa: E731
        row(name, g(lr, "median_s", 1000), g(lw, "median_s", 1000), 1)
        row("large label config: RSS idle (MB)", g(lr, "rss_idle_kb", 1 / 1024), g(lw, "rss_idle_kb", 1 / 1024), 1)
        row(f"large label config: RSS right after the {n_w} requests (MB)", g(lr, "rss_after_kb", 1 / 1024),
            g(lw, "rss_after_kb", 1 / 1024), 1)
        row("large label config: RSS 5 s later (MB)", g(lr, "rss_after_5s_kb", 1 / 1024),
            g(lw, "rss_after_5s_kb", 1 / 1024), 1)

    cold = {}
    for label in ("reference", "wasml-warm-cache", "wasml-empty-cache"):
        path = os.path.join(out, f"cold-{label}.txt")
        if not os.path.exists(path):
            continue
        reps = re.findall(r"cold start (\d+) ms\s+idle RSS (\d+) kB", open(path).read())
        if reps:
            cold[label] = (median(float(ms) for ms, _ in reps), median(float(kb) for _, kb in reps), len(reps))
    if cold:
        c = lambda label, i: cold[label][i] if label in cold else None  # noqa: E731
        row("cold start to first `/health` 200 (ms; wasml: compiled component cached)", c("reference", 0),
            c("wasml-warm-cache", 0))
        row("cold start, wasml with an empty compile cache (ms)", c("reference", 0), c("wasml-empty-cache", 0))
        row("idle RSS after start (MB)", None if c("reference", 1) is None else c("reference", 1) / 1024,
            None if c("wasml-warm-cache", 1) is None else c("wasml-warm-cache", 1) / 1024, 1)

    settings = os.path.join(out, "settings.txt")
    if os.path.exists(settings):
        for line in open(settings):
            print("<!-- " + line.rstrip() + " -->")
    print("| scenario | Python reference | wasml | ratio (wasml / reference) |")
    print("|---|---:|---:|---:|")
    for name, r, w, q in rows:
        print(f"| {name} | {r} | {w} | {q} |")
    f_ref = foreign({"reference", "interactive-reference"})
    f_w = foreign({r["label"] for r in load} - {"reference", "interactive-reference"})
    if f_ref is not None or f_w is not None:
        print(f"\nOther processes' share of the machine's CPU during the load runs, at most: "
              f"reference {pct(f_ref)}, wasml {pct(f_w)} (the harness's foreign%).")


if __name__ == "__main__":
    main()
