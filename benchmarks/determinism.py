"""Same-seed reproducibility and the speed cost of deterministic mode.

    python benchmarks/determinism.py repeat --runs 20 --load 2     # same-seed check N times under a busy loop per core
    MSM4SR_REAL_DATA=../shared/data python benchmarks/determinism.py speed scientific2018

`repeat` trains MSM4SR twice per run on the sample (1 pre-training + 2 fine-tuning epochs, seed 3, as the test in
nbs/20_train.ipynb) in deterministic mode and counts runs whose metrics and weights are identical; `--load N`
starts N busy-loop processes for the duration. `speed` prints s/epoch of pre-training and fine-tuning on a real
dataset in three modes, each in its own process: torch's default threads, default threads + deterministic
kernels, and deterministic mode (1 thread + deterministic kernels).
"""
from __future__ import annotations
import argparse, json, multiprocessing as mp, subprocess, sys, time

def _busy():
    while True: pass

def repeat(runs: int, load: int, deterministic: bool = True):
    import torch
    from dataclasses import replace
    from msm4sr.config import Schedule, PRETRAIN
    from msm4sr.contract import DataInfo
    from msm4sr.experiments import dataset_features
    from msm4sr.recommenders import MSM4SR
    from msm4sr.registry import load_dataset
    from msm4sr.train import seed_everything, pretrain, fit, set_deterministic
    ds = load_dataset("sample", verbose=False); feats = dataset_features(ds)[0]; sp = ds.split()
    if deterministic: set_deterministic()
    def short_run(seed):
        seed_everything(seed); m = MSM4SR(DataInfo.from_dataset(ds, feats))
        pretrain(m, sp["train"], replace(PRETRAIN, epochs=1, batch_size=256), seed=seed, progress=False)
        r = fit(m, sp, Schedule(epochs=2), seed=seed, progress=False).test
        return r, {k: v.clone() for k, v in m.state_dict().items()}
    procs = [mp.Process(target=_busy, daemon=True) for _ in range(load)]
    for p in procs: p.start()
    same_metrics = same_weights = 0; worst = 0.0; t0 = time.time()
    try:
        for i in range(runs):
            (a, wa), (b, wb) = short_run(3), short_run(3)
            d = max((wa[k].float() - wb[k].float()).abs().max().item() for k in wa)
            same_metrics += a == b; same_weights += d == 0; worst = max(worst, d)
            print(f"run {i + 1}/{runs}: metrics {'same' if a == b else 'DIFFER'}, max |Δw| {d:.2e}", flush=True)
    finally:
        for p in procs: p.terminate()
    out = {"runs": runs, "competing_busy_loops": load, "deterministic": deterministic,
           "torch_threads": torch.get_num_threads(), "same_metrics": same_metrics, "same_weights": same_weights,
           "max_weight_diff": worst, "seconds": round(time.time() - t0, 1)}
    print(json.dumps(out)); return out

MODES = {"default": (False, None), "kernels-only": (True, "default"), "deterministic": (True, None)}

def speed_child(name: str, mode: str, epochs: int):
    import torch
    from dataclasses import replace
    from msm4sr.config import Schedule, PRETRAIN
    from msm4sr.contract import DataInfo
    from msm4sr.experiments import dataset_features
    from msm4sr.recommenders import MSM4SR
    from msm4sr.registry import load_dataset
    from msm4sr.train import seed_everything, pretrain, fit, set_deterministic
    on, threads = MODES[mode]
    if on: set_deterministic(threads=torch.get_num_threads() if threads == "default" else None)
    ds = load_dataset(name, verbose=False); feats = dataset_features(ds, device="cpu")[0]; sp = ds.split()
    seed_everything(0); m = MSM4SR(DataInfo.from_dataset(ds, feats))
    p = pretrain(m, sp["train"], replace(PRETRAIN, epochs=epochs), "cpu", progress=False)
    f = fit(m, sp, Schedule(epochs=epochs, patience=99), "cpu", progress=False)
    print(json.dumps({"dataset": name, "mode": mode, "threads": torch.get_num_threads(),
                      "pretrain_s_per_epoch": round(p.seconds_per_epoch, 2),
                      "finetune_s_per_epoch": round(f.seconds_per_epoch, 2)}), flush=True)

def speed(name: str, epochs: int):
    rows = []
    for mode in MODES:
        r = subprocess.run([sys.executable, __file__, "speed-child", name, "--mode", mode, "--epochs", str(epochs)],
                           capture_output=True, text=True, check=True)
        rows.append(json.loads(r.stdout.strip().splitlines()[-1])); print(rows[-1], flush=True)
    return rows

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["repeat", "speed", "speed-child"]); ap.add_argument("dataset", nargs="?")
    ap.add_argument("--runs", type=int, default=20); ap.add_argument("--load", type=int, default=0)
    ap.add_argument("--no-deterministic", action="store_true")
    ap.add_argument("--mode", choices=list(MODES)); ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    if a.what == "repeat": repeat(a.runs, a.load, not a.no_deterministic)
    elif a.what == "speed": speed(a.dataset or "scientific2018", a.epochs)
    else: speed_child(a.dataset, a.mode, a.epochs)
