#!/usr/bin/env python3
"""Side-by-side speed and memory of tcgraph and the official PyTorch ToonCrafter modules, measured
in one invocation at the same shapes and thread count: for each module, `tcgraph bench MODULE
--json` and `torch_reference.py --module MODULE` each run in their own process (so each peak RSS is
its own), then one table with the ratios.

GFLOP/s of both sides use tcgraph's exact FLOP count of the module (torch's FLOP counter costs one
more forward; pass --torch-flops to run it and show its count too). --lock PATH holds an flock on
PATH during each measured process only (a shared machine's CPU lock), released in between.

    python3 tools/bench/compare.py --toon-src /tmp/ToonCrafter --module unet --module encode \\
        --threads 2 --lock /work/team/cpu.lock

Not needed at run time; PyTorch side as in torch_reference.py (see README.md here).
"""
import argparse
import fcntl
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODULES = ["unet", "decode", "encode", "clip"]


def locked(path, cmd, env):
    """Runs cmd (capturing stdout), holding an exclusive flock on `path` if given."""
    if path:
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                return subprocess.run(cmd, env=env, capture_output=True, text=True)
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
    return subprocess.run(cmd, env=env, capture_output=True, text=True)


def json_lines(out, what):
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"{what} failed (exit {out.returncode})")
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def ours(a, module):
    cmd = [a.tcgraph, "bench", module, "--size", "full", "--json", "--threads", str(a.threads),
           "--runs", str(a.runs), "--dtype", a.dtype, "--openblas-core", a.openblas_core]
    if module == "unet":
        cmd += ["--batch", str(a.batch)]
    if a.profile:
        cmd.append("--profile")
    lines = json_lines(locked(a.lock, cmd, dict(os.environ)), " ".join(cmd))
    return next(l for l in lines if l["module"] != "sgemm"), next(l for l in lines if l["module"] == "sgemm")


def torch(a, module):
    cmd = [sys.executable, os.path.join(HERE, "torch_reference.py"), "--toon-src", a.toon_src, "--module", module,
           "--threads", str(a.threads), "--repeats", str(a.runs), "--batch", str(a.batch)]
    if not a.torch_flops:
        cmd.append("--no-flop-count")
    return json_lines(locked(a.lock, cmd, dict(os.environ)), " ".join(cmd))[-1]


def gib(b):
    return f"{b / 2**30:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--toon-src", help="path of a local Doubiiu/ToonCrafter checkout (not needed with --torch-json)")
    ap.add_argument("--module", action="append", choices=MODULES, help="module(s) to compare (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1, help="timed runs after the cold run, on both sides (best counts)")
    ap.add_argument("--batch", type=int, default=1, help="UNet batch (2 = both guidance branches)")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"], help="tcgraph's weights/compute (PyTorch: float32)")
    ap.add_argument("--openblas-core", default="keep", help="passed to tcgraph bench")
    ap.add_argument("--tcgraph", default=os.path.join(REPO, ".build", "release", "tcgraph"))
    ap.add_argument("--lock", help="flock this file around each measured process (e.g. /work/team/cpu.lock)")
    ap.add_argument("--torch-flops", action="store_true", help="also run torch's FLOP counter (one more forward)")
    ap.add_argument("--torch-json", help="PyTorch results (torch_reference.py output, JSON lines) instead of running it")
    ap.add_argument("--profile", action="store_true", help="print tcgraph's time per kind of operation")
    a = ap.parse_args()
    if not a.torch_json and not a.toon_src:
        ap.error("give --toon-src (to run PyTorch) or --torch-json (earlier PyTorch results)")
    modules = a.module or MODULES
    given = {}
    if a.torch_json:
        with open(a.torch_json) as f:
            for l in f:
                if l.startswith("{"):
                    r = json.loads(l)
                    given[r["module"]] = r

    rows = []
    for m in modules:
        o, peak = ours(a, m)
        print(json.dumps(o), flush=True)
        name = o["module"]
        t = given.get(name) or (torch(a, m) if a.toon_src else None)
        if t is None:
            sys.stderr.write(f"{name}: no PyTorch result in {a.torch_json}\n")
        else:
            t = dict(t, source=t.get("source", "given" if name in given else "measured"))
            print(json.dumps(t), flush=True)
        rows.append((name, o, peak, t))

    print()
    print(f"threads {a.threads}, tcgraph {a.dtype} (OpenBLAS {rows[0][1].get('openblas_core', '?')}), PyTorch float32; "
          "seconds = best timed run; GFLOP/s from tcgraph's exact FLOP count")
    head = (f"{'module':10} {'ours s':>8} {'torch s':>8} {'ratio':>6} {'ours GF/s':>9} {'of peak':>7} "
            f"{'torch GF/s':>10} {'of peak':>7} {'ours RSS':>8} {'torch RSS':>9}  cold ours/torch")
    print(head)
    for name, o, peak, t in rows:
        # The better of tcgraph's before/after sgemm peaks when the module reports them.
        pk = o.get("sgemm_peak_gflops_per_s", peak["gflops_per_s"])
        ours_rate = o["flops"] / o["seconds"] / 1e9
        line = f"{name:10} {o['seconds']:8.2f} "
        if t:
            trate = o["flops"] / t["seconds"] / 1e9
            line += (f"{t['seconds']:8.2f} {o['seconds'] / t['seconds']:6.2f} {ours_rate:9.1f} {ours_rate / pk:7.0%} "
                     f"{trate:10.1f} {trate / pk:7.0%} {gib(o['peak_rss_bytes']):>8} {gib(t['peak_rss_bytes']):>9}  "
                     f"{o['cold_seconds']:.1f}/{t.get('cold_seconds', float('nan')):.1f}")
            if t.get("source") == "given":
                line += "  (PyTorch: given, not this run)"
        else:
            line += f"{'-':>8} {'-':>6} {ours_rate:9.1f} {ours_rate / pk:7.0%} {'-':>10} {'-':>7} {gib(o['peak_rss_bytes']):>8}"
        print(line)
    print(f"sgemm peak (same tcgraph runs, better of before/after the module): "
          + ", ".join(f"{r[1].get('sgemm_peak_gflops_per_s', r[2]['gflops_per_s']):.1f}" for r in rows) + " GFLOP/s")
    if a.profile:
        for name, o, peak, _ in rows:
            prof = o.get("profile") or {}
            print(f"\n{name}: where tcgraph's time goes")
            for op, v in sorted(prof.items(), key=lambda kv: -kv[1]["seconds"]):
                rate = f"  {v['gflops_per_s']:.1f} GFLOP/s ({v['peak_fraction']:.0%})" if "gflops_per_s" in v else ""
                print(f"  {op:18} {v['seconds']:7.2f} s {v['seconds'] / o['seconds']:6.1%}{rate}")


if __name__ == "__main__":
    main()
