"""Measurements behind stated choices (they measure and print JSON lines; nothing is asserted):

* `clip`: how often the tables' fine-tuning gradient clip (norm 5, the MSM4SR authors') acts on each
  model — every step's total gradient norm, on the tables' single grid point (lr 1e-3, batch 256), seed 0.
* `routing`: GRCN with the paper's neighbour routing (our default) vs the references' no-op routing, trained
  as Table II trains it (early stopping on valid R@20), one line per (seed, routing).
* `overlap`: RecGURU with the overlap MSE between a shared user's two representations on (the paper, our
  default) and off (the released code), on a cross-domain pair as Table VI trains it, one line per (seed,
  setting).

    MSM4SR_REAL_DATA=../shared/data python benchmarks/choices.py clip scientific2018 --epochs 10 \
        --models lightgcn grcn dualgnn sasrec sasrecm
    python benchmarks/choices.py clip beauty2014 --epochs 1 --models difsr --max-steps 200
    python benchmarks/choices.py routing scientific2018 --seeds 0 1 2
    python benchmarks/choices.py overlap sample-office sample-pantry --seeds 0 1 2
    MSM4SR_REAL_DATA=../shared/data python benchmarks/choices.py overlap beauty2014 toys2014   # a GPU job
"""
from __future__ import annotations
import argparse, json, time


class _Enough(Exception):
    "Raised from the clip hook once `--max-steps` steps are recorded."


def load(name):
    "A registry name (real datasets are found under $MSM4SR_REAL_DATA) or a folder."
    from msm4sr.contract import DataInfo
    from msm4sr.experiments import dataset_features
    from msm4sr.registry import load_dataset
    ds = load_dataset(name, verbose=False)
    feats = dataset_features(ds, device="cpu", required=False)[0]
    return ds, DataInfo.from_dataset(ds, feats), ds.split()


def clip(a):
    import torch
    from dataclasses import replace
    from msm4sr.contract import model_class
    from msm4sr.experiments import configs
    from msm4sr.train import run_stage, seed_everything
    ds, data, sp = load(a.dataset)
    norms, real = [], torch.nn.utils.clip_grad_norm_

    def hook(params, max_norm, *args, **kw):  # the trainer's clip, recording the norm it returns
        n = real(params, max_norm, *args, **kw)
        norms.append(float(n))
        if a.max_steps and len(norms) >= a.max_steps:
            raise _Enough
        return n

    torch.nn.utils.clip_grad_norm_ = hook
    try:
        for m in a.models:
            cls = model_class(m)
            seed_everything(0)
            model, norms[:] = cls(data), []
            # the tables' last stage (their default plan), without validation
            sched = replace(configs(finetune_epochs=a.epochs).grid("train", cls)[0], patience=None)
            try:
                run_stage(model, sp["train"], sched, cls.stages[-1], "cpu", progress=False)
            except _Enough:
                pass
            t = torch.tensor(norms)
            print(json.dumps({"dataset": ds.name, "model": cls.title, "steps": len(norms),
                              "clipped": int((t > sched.grad_clip).sum()),
                              "median_norm": round(t.median().item(), 3),
                              "max_norm": round(t.max().item(), 3)}), flush=True)
    finally:
        torch.nn.utils.clip_grad_norm_ = real


def routing(a):
    from msm4sr.baselines.grcn import GRCN, GRCNConfig
    from msm4sr.experiments import configs
    from msm4sr.train import deterministic, grid_search
    ds, data, sp = load(a.dataset)
    schedules = configs(finetune_epochs=a.epochs, patience=a.patience).grid("train", GRCN)  # Table II's
    for seed in a.seeds:
        for mode in ("paper", "reference"):
            t0 = time.time()
            with deterministic():  # as the report notebooks run
                r = grid_search(lambda: GRCN(data, GRCNConfig(routing=mode)), sp, schedules, "cpu", seed, False)
            print(json.dumps({"dataset": ds.name, "routing": mode, "seed": seed, "epochs_run": r.epochs_run,
                              "best_epoch": r.best_epoch, "test_R@20": round(r.test["R@20"], 4),
                              "test_N@20": round(r.test["N@20"], 4), "valid_R@20": round(r.valid["R@20"], 4),
                              "seconds": round(time.time() - t0, 1)}), flush=True)


def overlap(a):
    from dataclasses import replace
    from msm4sr.baselines.recguru import RecGURU, RecGURUConfig, fit_cross
    from msm4sr.experiments import configs
    from msm4sr.train import deterministic
    from msm4sr.transfer import load_domain, user_overlap
    src, tgt = load_domain(a.source, verbose=False), load_domain(a.target, verbose=False)  # registry names
    shared = user_overlap(src, tgt)
    sched = {"train": configs(finetune_epochs=a.epochs, patience=a.patience).grid("train", RecGURU)[0]}
    if a.phase_epochs is not None:  # phases 1-2 shortened, as Table VI's baseline_pretrain_epochs does
        sched |= {k: replace(RecGURU.schedules[k], epochs=a.phase_epochs) for k in ("pretrain", "adversarial")}
    for seed in a.seeds:
        for on in (True, False):
            t0 = time.time()
            with deterministic():
                r = fit_cross(src, tgt, shared, seed, "cpu", sched, RecGURUConfig(overlap_mse=on))
            adv = r.stages["adversarial"].curve
            print(json.dumps({"source": src.name, "target": tgt.name, "overlap_mse": on, "seed": seed,
                              "shared_users": r.overlap["with_training_parts"], "epochs_run": r.epochs_run,
                              "best_epoch": r.best_epoch, "test_R@20": round(r.test["R@20"], 4),
                              "test_N@20": round(r.test["N@20"], 4), "valid_R@20": round(r.valid["R@20"], 4),
                              "last_overlap_mse": round(adv[-1]["overlap_mse"], 4) if adv and on else None,
                              "seconds": round(time.time() - t0, 1)}), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("clip")
    c.add_argument("dataset")
    c.add_argument("--models", nargs="+", default=["lightgcn", "grcn", "dualgnn", "sasrec", "sasrecm"])
    c.add_argument("--epochs", type=int, default=3)
    c.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: every step)")
    r = sub.add_parser("routing")
    r.add_argument("dataset")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--epochs", type=int, default=200)
    r.add_argument("--patience", type=int, default=10)
    o = sub.add_parser("overlap")
    o.add_argument("source")
    o.add_argument("target")
    o.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    o.add_argument("--epochs", type=int, default=100, help="fine-tuning at most (Table VI's real pairs: 100)")
    o.add_argument("--patience", type=int, default=10)
    o.add_argument("--phase-epochs", type=int, default=None, help="phases 1-2 (default: the authors' 10)")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    {"clip": clip, "routing": routing, "overlap": overlap}[a.what](a)


if __name__ == "__main__":
    main()
