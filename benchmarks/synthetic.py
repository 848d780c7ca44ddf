"""Synthetic data at any scale with the statistics of the paper's Office dataset (Table I).

Office (Amazon 2018, 5-core): 68,224 users, 59,705 items, 527,209 interactions, text and image features of
d = 768 with up to 10 rows per item. `make(scale)` returns a `Dataset` built by the library (so the split is
the real leave-one-out protocol) and two `ModalityFeatures` — random, float16 as in the feature store.
Sequence lengths are 5 + a geometric tail matching the mean of 7.73 interactions per user; items are drawn
with a Zipf-like popularity (exponent 0.8), both fixed by the seed.
"""
from __future__ import annotations
import os
from pathlib import Path
import numpy as np
import pandas as pd

OFFICE = {"users": 68_224, "items": 59_705, "interactions": 527_209, "dim": 768, "rows": 10}


def make(scale: float = 1.0, seed: int = 0, dim: int = OFFICE["dim"], rows: int = OFFICE["rows"], max_len: int = 50,
         features: bool = True):
    """`(dataset, {'text': ModalityFeatures, 'image': ModalityFeatures})` at `scale` × Office. The feature
    arrays are cached as .npy under $MSM4SR_BENCH_CACHE (default /tmp/msm4sr-bench): each benchmark child
    process would otherwise spend seconds drawing ~1 GB of random numbers at full scale."""
    from msm4sr.dataset import Dataset
    from msm4sr.store import ModalityFeatures
    rng = np.random.default_rng(seed)
    n_users = max(int(round(OFFICE["users"] * scale)), 10)
    n_items = max(int(round(OFFICE["items"] * scale)), 20)
    mean_extra = OFFICE["interactions"] / OFFICE["users"] - 5
    n = 5 + np.minimum(rng.geometric(1 / (1 + mean_extra), n_users) - 1, 400)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    items = rng.choice(n_items, size=int(n.sum()), p=pop / pop.sum()) + 1
    user = np.repeat(np.arange(1, n_users + 1), n)
    pos = np.arange(len(user)) - np.repeat(np.cumsum(n) - n, n)
    inter = pd.DataFrame({"user": user, "item": items, "pos": pos, "timestamp": pos})
    ds = Dataset(inter, pd.DataFrame({"item": np.arange(1, n_items + 1)}), pd.DataFrame({"user": np.arange(1, n_users + 1)}),
                 {"name": f"synthetic-office-x{scale:g}", "max_len": max_len})
    feats = {}
    cache = Path(os.environ.get("MSM4SR_BENCH_CACHE", "/tmp/msm4sr-bench"))
    for k, m in enumerate(("text", "image") if features else ()):
        f = cache / f"{m}-{n_items}-{rows}-{dim}-{seed}.npy"
        frng = np.random.default_rng([seed, k])
        counts = frng.integers(1, rows + 1, n_items + 1); counts[0] = 0
        if f.exists(): x = np.load(f)
        else:
            x = frng.standard_normal((n_items + 1, rows, dim), dtype=np.float32).astype(np.float16)
            x *= (np.arange(rows)[None, :, None] < counts[:, None, None])
            cache.mkdir(parents=True, exist_ok=True); tmp = f.with_suffix(".tmp.npy"); np.save(tmp, x); tmp.rename(f)
        feats[m] = ModalityFeatures(x, counts, {"kind": f"synthetic {m}"})
    return ds, feats


if __name__ == "__main__":
    import sys
    ds, feats = make(float(sys.argv[1]) if len(sys.argv) > 1 else 0.01)
    sp = ds.split()
    print(ds, {k: len(v) for k, v in sp.items()}, feats["text"])
