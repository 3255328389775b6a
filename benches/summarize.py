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
    print(f"{'benchmark':<42} {'baseline':<18} {'baseline':>10} {'exokern':>10} {'ratio':>7}")
    for (group, param), variants in sorted(rows.items()):
        ours = variants.get("exokern")
        if ours is None:
            continue
        for name, raw in sorted(variants.items()):
            if name != "exokern":
                print(f"{group + '/' + param:<42} {name:<18} {pretty(raw):>10} {pretty(ours):>10} {ours / raw:>6.2f}x")


if __name__ == "__main__":
    main()
