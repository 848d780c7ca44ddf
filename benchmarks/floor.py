"""The arithmetic floor of one MSM4SR epoch: FLOPs and bytes the work itself needs, at any scale.

    python benchmarks/floor.py --scale 1 --peak-tflops 989 --bandwidth-tbs 3.35     # Office on an H100 SXM

Counts multiply-adds as 2 FLOPs; backward = 2 × forward for every matmul whose input needs a gradient and
1 × where only the weights do (the frozen feature rows need none). Token counts come from the synthetic
Office data (benchmarks/synthetic.py), i.e. the real leave-one-out samples of that data.
"""
from __future__ import annotations
import argparse, sys
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def floor(scale=1.0, d=768, R=10, d0=64, da=64, O=8, layers=2, inner=256, B_pre=1024, B_ft=1024, bytes_per=2):
    import synthetic
    ds, _ = synthetic.make(scale, features=False)
    sp = ds.split()
    tr = sp["train"]
    n_samples, tokens = len(tr), int(np.asarray(tr.length).sum())
    n_items = ds.n_items + 1
    mean_len = tokens / n_samples
    steps_pre, steps_ft = -(-n_samples // B_pre), -(-n_samples // B_ft)
    # one item through one encoder, forward: folded fusion scores (R·d), weighted sum (R·d), MoE (d·d0·O + gate d·O)
    enc_fwd = 2 * (R * d + R * d + d * d0 * O + d * O)
    enc_train = 2 * enc_fwd                          # + weight gradients (no gradient w.r.t. the frozen rows)
    row_bytes = R * d * bytes_per                    # an item's feature rows, read once per encoding
    # one token through the Transformer, forward: qkv, out, FFN; attention ~ 2·2·L·d0 with L ~ the batch's longest
    tf_fwd = 2 * layers * (3 * d0 * d0 + d0 * d0 + 2 * d0 * inner) + layers * 4 * 50 * d0
    tf_train = 3 * tf_fwd
    # contrastive terms per pre-training step: NIP 2 views x 2 modalities, CMCL inter+intra x 2 halves x 2 modalities
    loss_train = 3 * 12 * 2 * B_pre * B_pre * d0
    pre = {"encoders": 2 * (tokens + n_samples) * enc_train, "transformer": 2 * tokens * tf_train,
           "losses": steps_pre * loss_train}
    pre_bytes = 2 * (tokens + n_samples) * row_bytes
    # fine-tuning: every item through both encoders each step (Eq. 12), full-softmax scores over all items
    ft = {"encoders": steps_ft * 2 * n_items * enc_train, "transformer": 2 * tokens * tf_train,
          "scores": 3 * 2 * 2 * n_samples * n_items * d0}
    ft_bytes = steps_ft * 2 * n_items * row_bytes + steps_ft * 4 * B_ft * n_items * 4   # + fp32 logits written/read ~4x
    ev = {"encoders": 2 * n_items * enc_fwd, "transformer": 2 * int(np.asarray(sp["test"].length).sum()) * tf_fwd,
          "scores": 2 * 2 * len(sp["test"]) * n_items * d0}
    ev_bytes = 2 * n_items * row_bytes + 4 * len(sp["test"]) * n_items * 4
    return {"samples": n_samples, "tokens": tokens, "mean_history": mean_len, "items": n_items,
            "steps_pretrain": steps_pre, "steps_finetune": steps_ft,
            "pretrain": pre, "pretrain_bytes": pre_bytes, "finetune": ft, "finetune_bytes": ft_bytes,
            "eval": ev, "eval_bytes": ev_bytes}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100 SXM: 989; H200: 989)")
    ap.add_argument("--bandwidth-tbs", type=float, default=3.35, help="memory bandwidth (H100 SXM 3.35, H200 4.8)")
    a = ap.parse_args()
    f = floor(a.scale)
    print(f"scale {a.scale}: {f['samples']:,} training samples, {f['tokens']:,} history tokens "
          f"(mean {f['mean_history']:.2f}), {f['items']:,} item rows, {f['steps_pretrain']} pre-training / "
          f"{f['steps_finetune']} fine-tuning steps of 1024\n")
    print("| epoch | part | GFLOP |\n|---|---|---|")
    for stage in ("pretrain", "finetune", "eval"):
        for k, v in f[stage].items(): print(f"| {stage} | {k} | {v / 1e9:,.0f} |")
    print("\n| epoch | total TFLOP | GB moved (feature rows, logits) | compute floor s | memory floor s |\n|---|---|---|---|---|")
    for stage in ("pretrain", "finetune", "eval"):
        fl, by = sum(f[stage].values()), f[f"{stage}_bytes"]
        print(f"| {stage} | {fl / 1e12:.2f} | {by / 1e9:.1f} | {fl / (a.peak_tflops * 1e12):.4f} | "
              f"{by / (a.bandwidth_tbs * 1e12):.4f} |")


if __name__ == "__main__":
    main()
