"""What one epoch of each RecGURU phase costs on a real cross-domain pair (issue 15): the steps an epoch has,
seconds per step measured over a few steps, and their product (an extrapolation, printed as such).

    MSM4SR_REAL_DATA=../shared/data python benchmarks/recguru.py beauty2014 toys2014 --steps 4
    MSM4SR_REAL_DATA=../shared/data python benchmarks/recguru.py office2018 scientific2018full
    python benchmarks/recguru.py sample-office sample-pantry --steps 1   # the smoke pair of Table VI

Phases as `fit_cross` runs them with the model's default schedules: (1) reconstruction on both domains (batch
1024, one batch of each domain per step), (2) adversarial alignment (per step `critic_steps` critic updates and
one generator update, overlap MSE on), (3) fine-tuning on the target (batch 256, CE over all items + the
reconstruction). Validation passes are timed once. Measures, never asserts.
"""
from __future__ import annotations
import argparse, json, math, time


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("target")
    ap.add_argument("--steps", type=int, default=4, help="timed steps per phase (after one warm-up step)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    import numpy as np
    import torch
    from msm4sr.baselines.recguru import (RecGURU, RecGURUConfig, UserSequences, Cycler, cross_data,
                                          critic_step, generator_step, overlap_batch_size, overlap_rows,
                                          steps_per_epoch, check_overlap, overlap_pairs)
    from msm4sr.contract import Batch
    from msm4sr.metrics import evaluate
    from msm4sr.train import as_tensors, peak_memory_mb, seed_everything
    from msm4sr.transfer import load_domain, user_overlap

    torch.set_num_threads(a.threads)
    # registry names find the real datasets under $MSM4SR_REAL_DATA; sample-office/-pantry are the smoke pair
    src_ds, tgt_ds = load_domain(a.source, verbose=False), load_domain(a.target, verbose=False)
    cfg = RecGURUConfig()
    seed_everything(0)
    model = RecGURU(cross_data(src_ds, tgt_ds), cfg)
    gen, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    sp_s, sp_t = src_ds.split(cfg.max_len), tgt_ds.split(cfg.max_len)
    src = UserSequences.of(sp_s["valid"], src_ds.n_users)
    tgt = UserSequences.of(sp_t["valid"], tgt_ds.n_users)
    ov = check_overlap(overlap_pairs(user_overlap(src_ds, tgt_ds)), src_ds.n_users, tgt_ds.n_users)
    pairs = overlap_rows(ov, src, tgt)
    print(src_ds, "->", tgt_ds, f"| shared users with training parts: {len(pairs):,} | threads {a.threads}",
          flush=True)
    sch = RecGURU.schedules

    def timed(step) -> float:
        step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        return (time.perf_counter() - t0) / a.steps

    out = {}
    # phase 1: one batch of each domain's reconstruction per step
    b1, n1 = steps_per_epoch(src, tgt, sch["pretrain"].batch_size)
    opt = torch.optim.Adam(model.generator_parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    cs, ct = Cycler(len(src), b1, rng), Cycler(len(tgt), b1, rng)
    model.train()

    def p1():
        loss = (model.reconstruction_loss(*src.rows(cs()), "source", gen)
                + model.reconstruction_loss(*tgt.rows(ct()), "target", gen))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    out["1 reconstruction"] = (b1, n1, timed(p1))
    # phase 2: critic_steps critic updates, then one generator update with the overlap MSE
    b2, n2 = steps_per_epoch(src, tgt, sch["adversarial"].batch_size)
    opt_c = torch.optim.Adam(model.critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=1e-4, betas=(0.5, 0.9))
    k = len(pairs)
    cp = Cycler(k, overlap_batch_size(b2, len(src) + len(tgt), k), rng) if k else None

    def p2():
        for _ in range(cfg.critic_steps):
            critic_step(model, opt_c, src.rows(cs()), tgt.rows(ct()), gen)
        p = pairs[cp()] if cp else None
        generator_step(model, opt_g, src.rows(cs()), tgt.rows(ct()), gen,
                       None if p is None else (src.rows(p[:, 0]), tgt.rows(p[:, 1])))

    out["2 adversarial"] = (b2, n2, timed(p2))
    # phase 3: the target's training samples, batch 256, as the trainer feeds them
    train = model.training_samples(sp_t["train"])
    H, L, T = as_tensors(train, "cpu")
    b3 = sch["train"].batch_size
    n3 = math.ceil(len(T) / b3)
    opt3 = torch.optim.Adam(model.parameters(), lr=1e-3)
    cy = Cycler(len(T), b3, rng)

    def p3():
        idx = torch.as_tensor(cy())
        lmax = int(L[idx].max())
        batch = Batch(H[idx, :lmax], L[idx], T[idx], lmax, int(L[idx].sum()), None, None, gen, rng)
        loss = model.loss(batch)["loss"]
        opt3.zero_grad(set_to_none=True)
        loss.backward()
        opt3.step()

    out["3 fine-tuning"] = (b3, n3, timed(p3))
    t0 = time.perf_counter()
    evaluate(model, sp_t["valid"], "cpu")
    ev = time.perf_counter() - t0
    print(f"\n| phase | batch | steps / epoch | s / step (mean of {a.steps}) | s / epoch (extrapolated) |")
    print("|---|---|---|---|---|")
    for k, (b, n, s) in out.items():
        print(f"| {k} | {b:,} | {n:,} | {s:.3f} | {s * n:.0f} |")
    print(f"| target validation pass | | | | {ev:.1f} |")
    print(f"peak memory {peak_memory_mb('cpu'):.0f} MB")
    print(json.dumps({k: {"batch": b, "steps": n, "s_per_step": round(s, 4)} for k, (b, n, s) in out.items()}
                     | {"valid_s": round(ev, 2), "peak_mb": round(peak_memory_mb("cpu"))}))


if __name__ == "__main__":
    main()
