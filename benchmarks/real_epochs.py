"""Seconds per epoch of the library's own trainer on real datasets (pre-training, fine-tuning, evaluation),
to compare one commit with another on the same machine.

    MSM4SR_REAL_DATA=../shared/data python benchmarks/real_epochs.py scientific2018 office2014
"""
from __future__ import annotations
import json, sys, time

def main(names):
    import torch
    from dataclasses import replace
    from msm4sr.config import Schedule, PRETRAIN
    from msm4sr.contract import DataInfo
    from msm4sr.experiments import dataset_features
    from msm4sr.registry import load_dataset
    from msm4sr.metrics import evaluate
    from msm4sr.recommenders import MSM4SR
    from msm4sr.train import pretrain, fit, seed_everything, peak_memory_mb
    out = {}
    for name in names:
        ds = load_dataset(name, verbose=False); dev = 'cpu'; feats = dataset_features(ds, device=dev)[0]
        sp = ds.split(); seed_everything(0); m = MSM4SR(DataInfo.from_dataset(ds, feats))
        p = pretrain(m, sp["train"], replace(PRETRAIN, epochs=3), dev, progress=False)
        f = fit(m, sp, Schedule(epochs=2, patience=99), dev, progress=False)
        t0 = time.perf_counter(); evaluate(m, sp["test"], dev); ev = time.perf_counter() - t0
        out[name] = {"pretrain_s_per_epoch": round(p.seconds_per_epoch, 2),
                     "finetune_s_per_epoch": round(f.seconds_per_epoch, 2), "eval_s": round(ev, 2),
                     "train_samples": len(sp["train"]), "test_users": len(sp["test"]), "peak_rss_mb": round(peak_memory_mb(dev)),
                     "torch_threads": torch.get_num_threads()}
        print(name, out[name], flush=True)
    print(json.dumps(out))

if __name__ == "__main__":
    main(sys.argv[1:] or ["scientific2018"])
