"""Peak memory of the library's trainer per model and stage, and across repeated runs in one process.

    MSM4SR_REAL_DATA=../shared/data python benchmarks/memory.py office2014 scientific2018      # CPU, 1 thread
    python benchmarks/memory.py sample --models sasrec --epochs 1                             # seconds
    python benchmarks/memory.py office2014 --malloc default --no-trim                         # glibc as it comes
    python benchmarks/memory.py office2014 scientific2018 --device cuda                       # GPU max allocated

Each (dataset, model) runs in its own child process, so every peak belongs to that measurement alone. The child
loads the dataset (and the item features when the model uses them), then `--runs` times in the same process:
builds the model from seed 0, pre-trains it when it has a pre-training stage (`--pretrain-epochs`), fine-tunes it
with `fit` (`--epochs`, validation after every epoch, then valid/test metrics) and evaluates the test split once
more. Per phase: peak resident set (CPU; Linux's VmHWM, reset before each phase through /proc/self/clear_refs),
resident set at its end, GPU max allocated (CUDA), seconds, and seconds per training epoch; per run: the resident
set after the run, which must not grow from run to run.

By default the children run under the allocator setting the `msm4sr` command sets for itself (glibc's tcache off,
`msm4sr.cli.allocator_env`); `--malloc default` runs them under glibc's defaults, as a process that imports the
package gets them, and `--no-trim` turns off the trainer's `HeapTrimmer` (MSM4SR_HEAP_TRIM=0), so each part of the
fix can be measured on its own. Prints tables and writes JSON to --out (default: $OUT/ or benchmarks/results/).
"""
from __future__ import annotations
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _status_mb(key: str) -> float | None:
    try:
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak():
    "Start a new peak: Linux resets VmHWM to the current RSS when '5' is written to /proc/self/clear_refs."
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _trim_mode() -> str:
    "When the trainer gives freed heap memory back: 'off', 'stage ends' or 'steps + stage ends'."
    import msm4sr.train as t

    if not getattr(t, "heap_trim_enabled", lambda: False)():  # (not there before the fix)
        return "off"
    return "steps + stage ends" if t.HeapTrimmer().every_step else "stage ends"


def child(a) -> dict:
    import gc, resource
    import torch
    from dataclasses import replace
    from msm4sr.config import Schedule
    from msm4sr.contract import DataInfo, model_class
    from msm4sr.experiments import dataset_features
    from msm4sr.metrics import evaluate
    from msm4sr.registry import load_dataset
    from msm4sr.train import fit, run_stage, seed_everything

    torch.set_num_threads(a.threads)
    dev, cuda = a.device, a.device.startswith("cuda")
    resettable = _reset_peak()
    phases, runs = [], []

    def phase(name, run, fn):
        gc.collect()
        _reset_peak()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0, c0, f0 = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        out = fn()
        if cuda:
            torch.cuda.synchronize()
        row = {"phase": name, "run": run, "seconds": round(time.perf_counter() - t0, 2),
               "cpu_s": round(time.process_time() - c0, 2),  # user + system: the figure to compare under load
               "page_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0,
               "peak_rss_mb": round(_status_mb("VmHWM") if resettable else
                                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
               "rss_end_mb": round(_status_mb("VmRSS") or 0),
               "gpu_max_mb": round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None}
        if hasattr(out, "seconds_per_epoch"):
            row.update(seconds_per_epoch=round(out.seconds_per_epoch, 2), epochs=out.epochs_run)
        phases.append(row)
        print("PHASE " + json.dumps(row), file=sys.stderr, flush=True)
        return out

    cls = model_class(a.model)
    ds = phase("load", 0, lambda: load_dataset(a.dataset, verbose=False))
    uses_features = bool({"modalities", "text", "image"} & set(cls.needs))
    feats = phase("features", 0, lambda: dataset_features(ds, device=dev)[0]) if uses_features else {}
    cfg = cls.Config()
    splits = ds.split(getattr(cfg, "max_len", None))
    for run in range(1, a.runs + 1):
        seed_everything(0)
        model = phase("build", run, lambda: cls(DataInfo.from_dataset(ds, feats), cfg).to(dev))
        for stage in cls.stages[:-1]:  # pre-training
            if a.pretrain_epochs:
                s = replace(cls.schedule(stage), epochs=a.pretrain_epochs, batch_size=a.pretrain_batch_size)
                phase(stage, run, lambda: run_stage(model, splits["train"], s, stage, dev, 0, progress=False))
        sched = Schedule(epochs=a.epochs, patience=a.epochs, batch_size=a.batch_size)
        r = phase("train", run, lambda: fit(model, splits, sched, dev, 0, progress=False))
        phase("eval", run, lambda: evaluate(model, splits["test"], dev))
        del model
        gc.collect()
        runs.append({"run": run, "rss_after_mb": round(_status_mb("VmRSS") or 0),
                     "peak_rss_mb": max(p["peak_rss_mb"] for p in phases if p["run"] == run),
                     "train_seconds_per_epoch": round(r.seconds_per_epoch, 2), "test": r.test})
    return {"dataset": ds.name, "model": a.model, "device": dev, "threads": torch.get_num_threads(),
            "users": ds.n_users, "items": ds.n_items, "train_samples": len(splits["train"]),
            "process_peak_rss_mb": max(p["peak_rss_mb"] for p in phases),  # (clear_refs resets ru_maxrss too)
            "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
            "heap_trim": _trim_mode(),
            "phases": phases, "runs": runs}


def child_env(a) -> dict:
    env = dict(os.environ)
    if a.malloc == "package":
        from msm4sr.cli import allocator_env

        env = allocator_env(env) or env
    else:  # glibc's defaults
        env.pop("GLIBC_TUNABLES", None)
    if a.no_trim:
        env["MSM4SR_HEAP_TRIM"] = "0"
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="*", default=["office2014", "scientific2018"])
    ap.add_argument("--models", default="sasrec,sasrecm,msm4sr")
    ap.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs (each followed by validation)")
    ap.add_argument("--pretrain-epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--pretrain-batch-size", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3, help="runs in one process")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--malloc", choices=("package", "default"), default="package",
                    help="package: the `msm4sr` command's allocator setting; default: glibc's defaults")
    ap.add_argument("--no-trim", action="store_true", help="without the trainer's HeapTrimmer")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", nargs=2, metavar=("DATASET", "MODEL"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        a.dataset, a.model = a.child
        print("RESULT " + json.dumps(child(a)))
        return
    env, rows = child_env(a), []
    for name in a.datasets:
        for model in a.models.split(","):
            cmd = [sys.executable, __file__, "--child", name, model] + [
                x for k in ("epochs", "pretrain_epochs", "batch_size", "pretrain_batch_size", "runs", "threads", "device")
                for x in (f"--{k.replace('_', '-')}", str(getattr(a, k)))]
            t0 = time.time()
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
            if p.returncode or not line:
                print(f"{name} {model}: failed\n{p.stderr[-3000:]}", file=sys.stderr)
                continue
            r = json.loads(line[0][7:])
            r["wall_s"] = round(time.time() - t0, 1)
            rows.append(r)
            print(f"\n{r['dataset']} / {model} ({r['users']} users, {r['items']} items, {r['train_samples']} training "
                  f"samples; {r['threads']} thread(s), tunables '{r['glibc_tunables']}', trim {r['heap_trim']})")
            gpu = r["phases"][0]["gpu_max_mb"] is not None
            print("| run | phase | s | CPU s | s/epoch | page faults | peak RSS MB | RSS after MB |" + (" GPU max MB |" if gpu else ""))
            print("|---|---|---|---|---|---|---|---|" + ("---|" if gpu else ""))
            for ph in r["phases"]:
                print(f"| {ph['run']} | {ph['phase']} | {ph['seconds']} | {ph['cpu_s']} | {ph.get('seconds_per_epoch', '')} | "
                      f"{ph['page_faults']} | {ph['peak_rss_mb']} | {ph['rss_end_mb']} |" + (f" {ph['gpu_max_mb']} |" if gpu else ""))
            rs = r["runs"]
            print("runs in one process: RSS after " + " → ".join(str(x["rss_after_mb"]) for x in rs) + " MB; peak "
                  + " → ".join(str(x["peak_rss_mb"]) for x in rs) + " MB; last/first "
                  + f"{rs[-1]['rss_after_mb'] / rs[0]['rss_after_mb']:.2f}; process peak {r['process_peak_rss_mb']} MB",
                  flush=True)
    import torch
    info = {"device": a.device, "gpu": torch.cuda.get_device_name() if a.device.startswith("cuda") else None,
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=HERE).stdout.strip(),
            "args": vars(a), "results": rows}
    out = Path(a.out or (Path(os.environ["OUT"]) if os.environ.get("OUT") else HERE / "results")
               / f"memory-{a.device.split(':')[0]}-{a.malloc}{'-notrim' if a.no_trim else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=1) + "\n")
    print("wrote", out)
    if len(rows) < len(a.datasets) * len(a.models.split(",")):
        sys.exit(1)


if __name__ == "__main__":
    main()
