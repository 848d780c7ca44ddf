"""Seconds per training epoch of registered models on one real dataset, side by side and relative to SASRec
(the issue asks each new baseline's cost against it), plus one full-ranking evaluation pass.

    MSM4SR_REAL_DATA=../shared/data python benchmarks/models.py scientific2018 --epochs 3
    python benchmarks/models.py office2014 --models sasrec lightgcn grcn dualgnn --threads 1

Each model trains `--epochs` epochs of its last stage with the paper's single grid point (lr 1e-3, batch 256);
s/epoch is the mean over those epochs (validation excluded). `--pretrain` also times the earlier stages of
models that have them (MSM4SR, S3-Rec), each with the model's own default schedule of that stage (its batch
size), as a row "<title> (<stage>)". Measures, never asserts.

    MSM4SR_REAL_DATA=../shared/data python benchmarks/models.py beauty2014 --models sasrec s3rec --pretrain
"""
from __future__ import annotations
import argparse, json, os, time


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--models", nargs="+",
                    default=["sasrec", "sasrecm", "msm4sr", "lightgcn", "grcn", "dualgnn"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pretrain", action="store_true", help="also time earlier stages (pre-training)")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    import torch
    from msm4sr.config import Schedule
    from msm4sr.contract import DataInfo, model_class
    from msm4sr.experiments import dataset_features
    from msm4sr.metrics import evaluate
    from msm4sr.registry import load_dataset
    from dataclasses import replace
    from msm4sr.train import run_stage, seed_everything, peak_memory_mb

    torch.set_num_threads(a.threads)
    root = os.environ.get("MSM4SR_REAL_DATA")
    real = os.path.join(root, a.dataset) if root else None
    name = real if real and os.path.isdir(real) else a.dataset
    ds = load_dataset(name, verbose=False)
    feats = dataset_features(ds, device="cpu", required=False)[0]  # ID-only data: {}
    data, sp = DataInfo.from_dataset(ds, feats), ds.split()
    print(ds, "| modalities:", list(feats), "| threads:", a.threads, flush=True)
    out, skipped = {}, {}
    for m in a.models:
        cls = model_class(m)
        seed_everything(0)
        try:
            model = cls(data)
        except ValueError as e:  # the dataset lacks what the model needs (e.g. MV-RNN on ID-only data)
            skipped[cls.title] = str(e)
            print(cls.title, "not run:", e, flush=True)
            continue
        for stage in cls.stages[:-1] if a.pretrain else ():
            r = run_stage(model, sp["train"], replace(cls.schedule(stage), epochs=a.epochs), stage, a.device,
                          progress=False)
            n = len(model.training_samples(sp["train"]).target)
            out[f"{cls.title} ({stage})"] = {"samples": n, "s_per_epoch": round(r.seconds_per_epoch, 2),
                                             "eval_s": "", "peak_mb_so_far": round(peak_memory_mb(a.device))}
            print(f"{cls.title} ({stage})", out[f"{cls.title} ({stage})"], flush=True)
        sched = Schedule(epochs=a.epochs, batch_size=256, lr=1e-3)
        r = run_stage(model, sp["train"], sched, "train", a.device, progress=False)
        t0 = time.perf_counter()
        evaluate(model, sp["valid"], a.device)
        ev = time.perf_counter() - t0
        n = len(model.training_samples(sp["train"]).target)
        out[cls.title] = {"samples": n, "s_per_epoch": round(r.seconds_per_epoch, 2), "eval_s": round(ev, 2),
                          "peak_mb_so_far": round(peak_memory_mb(a.device))}
        print(cls.title, out[cls.title], flush=True)
    base = out.get("SASRec", {}).get("s_per_epoch")
    print("\n| model | training samples / epoch | s / epoch | × SASRec | valid evaluation s |")
    print("|---|---|---|---|---|")
    for t, o in out.items():
        ratio = f"{o['s_per_epoch'] / base:.2f}" if base else "–"
        print(f"| {t} | {o['samples']:,} | {o['s_per_epoch']} | {ratio} | {o['eval_s']} |")
    for t, why in skipped.items():
        print(f"| {t} | not run: {why} | | | |")
    print(json.dumps({**out, **{t: {"not_run": why} for t, why in skipped.items()}}))


if __name__ == "__main__":
    main()
