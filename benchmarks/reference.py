"""A reference-style MSM4SR step: what the authors' code (RecBole-based) does, on the same model and weights.

* per-sample loading: a `torch.utils.data.DataLoader` over a map-style dataset that returns one sample at a
  time, collated into a batch (RecBole builds its batches in Python too), copied to the device every step;
* every sequence padded to the full 50 positions; the Transformer runs on the whole `[B, 50]` grid;
* **every item re-encoded every step**: attention fusion and MoE over all `n_items × 10` text rows and all
  image rows, then the batch's items are looked up in those tables (pre-training, fine-tuning and every
  evaluation batch alike);
* attention fusion as two stacked Linear layers applied to every row (`x W1` is an `[n, R, d_a]` tensor),
  the feature tables in float32;
* host-side scalars read from device tensors (`.item()`), so the host waits for the device each step.

The losses are the library's (Eq. 6-13), so the two implementations compute the same objective; only the
work done to get there differs. Used by `benchmarks/training.py`; not part of the package.
"""
from __future__ import annotations
import numpy as np
import torch
import torch.nn.functional as F
from msm4sr.losses import pretrain_objective, item_scores
from msm4sr.metrics import pessimistic_rank, metrics_from_ranks
from msm4sr.model import sequence_dropout, complementary_mixup


def encode_all(enc):
    "Every item through one modality encoder, fusion unfolded (Eq. 3 literally), rows in float32."
    x, c, fu = enc.x.float(), enc.counts, enc.fusion
    a = fu.w2(fu.w1(x)).squeeze(-1).masked_fill(torch.arange(x.shape[1], device=x.device)[None] >= c[:, None], -1e9)
    e = torch.einsum("nr,nrd->nd", torch.softmax(a.float(), -1).to(x.dtype), x) * (c > 0)[:, None]
    return enc.moe(e)


def item_tables(model):
    E = model.item_emb.weight if model.cfg.use_id else 0
    return {m: encode_all(model.enc[m]) + E for m in model.cfg.modalities if m in model.enc}


class PerSample(torch.utils.data.Dataset):
    "One training sample per `__getitem__`, as RecBole's interaction rows."
    def __init__(self, samples):
        self.h, self.l, self.t = (np.asarray(a, np.int64) for a in (samples.history, samples.length, samples.target))
    def __len__(self): return len(self.t)
    def __getitem__(self, i): return {"history": self.h[i], "length": self.l[i], "target": self.t[i]}


def loader(samples, batch_size, shuffle=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(PerSample(samples), batch_size=batch_size, shuffle=shuffle, generator=g)


def pretrain_loss(model, h, l, t, gen, cfg):
    "Eq. (6)-(11) with all items encoded (no trimming, no packing)."
    rho = cfg.rho if cfg.dropout_mode == "fixed" else torch.rand(()).item() * 0.2
    if rho > 0: h, l = sequence_dropout(h, l, rho, gen)
    Z = {m: encode_all(enc) for m, enc in model.enc.items()}             # all items, every step
    seq, tgt = {m: z[h] for m, z in Z.items()}, {m: z[t] for m, z in Z.items()}
    if len(seq) == 2 and cfg.mixup_max > 0:
        tm, vm = model.modalities
        p = torch.rand(()).item() * cfg.mixup_max
        seq[tm], seq[vm], _ = complementary_mixup(seq[tm], seq[vm], h, p, gen)
    hs = {m: model.seq(s, h, l, packed=False) for m, s in seq.items()}
    return pretrain_objective(hs, tgt, t, model.proj, cfg.tau, cfg.lam)["loss"]


def finetune_loss(model, h, l, t, gen=None):
    tables = item_tables(model)                                           # all items, every step (as ours: Eq. 12 needs them)
    hs = {m: model.seq(T[h], h, l, packed=False) for m, T in tables.items()}
    return F.cross_entropy(item_scores(hs, tables, model.cfg.finetune_score, model.cfg.tau), t)


def train_epoch(model, samples, loss_fn, batch_size, device, opt, autocast, seed=0):
    "One epoch of the reference loop; returns the mean loss (read every step, as RecBole's progress does)."
    model.train(); total, n = 0.0, 0
    gen = torch.Generator(device=device).manual_seed(seed)
    for b in loader(samples, batch_size, True, seed):
        h, l, t = (b[k].to(device) for k in ("history", "length", "target"))
        with autocast: loss = loss_fn(model, h, l, t, gen)
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0); opt.step()
        total += loss.item(); n += 1
    return total / max(n, 1)


@torch.no_grad()
def evaluate(model, samples, device, batch_size=1024):
    "Full ranking with the item tables re-encoded for every batch (RecBole's full_sort_predict)."
    model.eval(); ranks = []
    for b in loader(samples, batch_size, shuffle=False):
        h, l, t = (b[k].to(device) for k in ("history", "length", "target"))
        tables = item_tables(model)
        hs = {m: model.seq(T[h], h, l, packed=False) for m, T in tables.items()}
        ranks.append(pessimistic_rank(item_scores(hs, tables, model.cfg.finetune_score, model.cfg.tau), t).cpu())
    return metrics_from_ranks(torch.cat(ranks))
