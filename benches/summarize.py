#!/usr/bin/env python3
"""Prints the medians criterion measured, each exokern benchmark beside its raw-actix
baseline from the same run, and the ratio. Run after `cargo bench`:

    python3 benches/summarize.py [target/criterion]
"""
import json
import pathlib
import sys


def median_ns(path):
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def pretty(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    rows = {}
    for estimates in sorted(root.glob("*/*/*/new/estimates.json")):
        group, variant, param = estimates.parts[-5:-2]
        rows.setdefault((group, param), {})[variant] = median_ns(estimates)
    if not rows:
        sys.exit(f"no criterion results under {root}: run `cargo bench` first")
    print(f"{'benchmark':<42} {'raw actix':>12} {'exokern':>12} {'ratio':>7}")
    for (group, param), variants in sorted(rows.items()):
        raw, ours = variants.get("raw_actix"), variants.get("exokern")
        if raw is None or ours is None:
            continue
        print(f"{group + '/' + param:<42} {pretty(raw):>12} {pretty(ours):>12} {ours / raw:>6.2f}x")


if __name__ == "__main__":
    main()
