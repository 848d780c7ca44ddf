"""MSM4SR pre-training, fine-tuning and full-ranking evaluation: ours vs a reference-style implementation.

    python benchmarks/training.py --scale 0.05                 # CPU, reduced Office scale (minutes)
    python benchmarks/training.py --scale 1 --device cuda       # the paper's Office scale on a GPU

Every (implementation, stage) runs in its own child process, so peak memory (CPU resident set, or GPU max
allocated) belongs to that measurement alone. Each child builds the same synthetic data (benchmarks/synthetic.py)
and the same initial weights, runs one warm-up epoch (or one warm-up evaluation), then times `--epochs`.
"Ours" calls the library's own `pretrain`, `fit` and `evaluate`; "reference" is benchmarks/reference.py.
Prints a table with the ratio ours/reference and writes JSON to --out (default: $OUT/ or benchmarks/results/).
"""
from __future__ import annotations
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def child(a) -> dict:
    import torch
    import synthetic, reference
    from functools import partial
    from dataclasses import replace
    from msm4sr.config import MSM4SRConfig, Schedule, PRETRAIN
    from msm4sr.contract import DataInfo
    from msm4sr.recommenders import MSM4SR
    from msm4sr.train import pretrain, fit, seed_everything, autocast, peak_memory_mb
    from msm4sr.metrics import evaluate
    dev = a.device
    ds, feats = synthetic.make(a.scale, dim=a.dim)
    sp = ds.split()
    seed_everything(0)
    model = MSM4SR(DataInfo(0, ds.n_items, feats), MSM4SRConfig()).to(dev)
    if a.compile:
        model.seq = torch.compile(model.seq, dynamic=True)
        for m in model.enc: model.enc[m] = torch.compile(model.enc[m], dynamic=True)
    pcfg = replace(PRETRAIN, epochs=1, batch_size=a.pretrain_batch_size)
    fcfg = Schedule(epochs=1, patience=10**6, batch_size=a.finetune_batch_size)
    sync = (lambda: torch.cuda.synchronize()) if dev.startswith("cuda") else (lambda: None)
    times = []
    if dev.startswith("cuda"): torch.cuda.reset_peak_memory_stats()
    if a.stage == "eval":
        run = (lambda: evaluate(model, sp["test"], dev)) if a.impl == "ours" else (lambda: reference.evaluate(model, sp["test"], dev))
        run()                                                        # warm-up
        for _ in range(a.epochs):
            sync(); t0 = time.perf_counter(); run(); sync(); times.append(time.perf_counter() - t0)
        n = len(sp["test"])
    else:
        if a.impl == "ours":
            if a.stage == "pretrain":
                run = lambda e: pretrain(model, sp["train"], replace(pcfg, epochs=e), dev, progress=False)
            else:
                run = lambda e: fit(model, sp, replace(fcfg, epochs=e), dev, progress=False)
            run(1)                                                   # warm-up epoch
            times = [run(a.epochs).seconds_per_epoch]              # training time only (fit's validation excluded)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            loss_fn = partial(reference.pretrain_loss, cfg=model.cfg) if a.stage == "pretrain" else reference.finetune_loss
            bs = a.pretrain_batch_size if a.stage == "pretrain" else a.finetune_batch_size
            ep = lambda: reference.train_epoch(model, sp["train"], loss_fn, bs, dev, opt, autocast(dev))
            ep()                                                     # warm-up epoch
            for _ in range(a.epochs):
                sync(); t0 = time.perf_counter(); ep(); sync(); times.append(time.perf_counter() - t0)
        n = len(sp["train"])
    sec = sum(times) / len(times)
    return {"impl": a.impl, "stage": a.stage, "seconds_per_epoch": sec, "samples_per_s": n / sec, "samples": n,
            "peak_memory_mb": peak_memory_mb(dev), "compile": a.compile}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.05, help="fraction of the paper's Office dataset")
    ap.add_argument("--device", default="cpu"); ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--pretrain-batch-size", type=int, default=1024); ap.add_argument("--finetune-batch-size", type=int, default=1024)
    ap.add_argument("--impls", default="ours,reference"); ap.add_argument("--stages", default="pretrain,finetune,eval")
    ap.add_argument("--compile", action="store_true", help="torch.compile the Transformer and the encoders (ours)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", nargs=2, metavar=("IMPL", "STAGE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        a.impl, a.stage = a.child
        print("RESULT " + json.dumps(child(a))); return
    import torch, msm4sr
    rows = []
    for stage in a.stages.split(","):
        for impl in a.impls.split(","):
            cmd = [sys.executable, __file__, "--child", impl, stage, "--scale", str(a.scale), "--device", a.device,
                   "--epochs", str(a.epochs), "--dim", str(a.dim), "--pretrain-batch-size", str(a.pretrain_batch_size),
                   "--finetune-batch-size", str(a.finetune_batch_size)] + (["--compile"] if a.compile and impl == "ours" else [])
            t0 = time.time()
            p = subprocess.run(cmd, capture_output=True, text=True)
            line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
            if p.returncode or not line:
                print(f"{impl} {stage}: failed\n{p.stderr[-2000:]}", file=sys.stderr); continue
            r = json.loads(line[0][7:]); r["wall_s"] = round(time.time() - t0, 1); rows.append(r)
            print(f"{stage:9s} {impl:10s} {r['seconds_per_epoch']:9.3f} s/epoch {r['samples_per_s']:10.0f} samples/s "
                  f"{r['peak_memory_mb']:9.0f} MB peak", flush=True)
    by = {(r["impl"], r["stage"]): r for r in rows}
    print(f"\nscale {a.scale} of Office, device {a.device}" + (f" ({torch.cuda.get_device_name()})" if a.device.startswith("cuda") else ""))
    print("| stage | ours s/epoch | reference s/epoch | reference / ours | ours peak MB | reference peak MB |")
    print("|---|---|---|---|---|---|")
    for stage in a.stages.split(","):
        o, r = by.get(("ours", stage)), by.get(("reference", stage))
        if o and r:
            print(f"| {stage} | {o['seconds_per_epoch']:.3f} | {r['seconds_per_epoch']:.3f} | "
                  f"{r['seconds_per_epoch'] / o['seconds_per_epoch']:.1f}× | {o['peak_memory_mb']:.0f} | {r['peak_memory_mb']:.0f} |")
    info = {"scale": a.scale, "device": a.device, "gpu": torch.cuda.get_device_name() if a.device.startswith("cuda") else None,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip(),
            "args": vars(a), "results": rows}
    out = Path(a.out or (Path(os.environ["OUT"]) if os.environ.get("OUT") else HERE / "results") / f"training-{a.device.split(':')[0]}-x{a.scale:g}.json")
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(info, indent=1) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
