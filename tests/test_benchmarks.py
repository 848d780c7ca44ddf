"""The benchmarks compare like with like: the reference-style implementation computes the same losses and
metrics as ours; the scripts run end to end at a tiny scale (no timing is asserted anywhere)."""
import json, subprocess, sys
from pathlib import Path
import numpy as np
import pytest

torch = pytest.importorskip("torch")
BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setenv("MSM4SR_BENCH_CACHE", str(tmp_path / "cache"))
    import synthetic
    from msm4sr.config import MSM4SRConfig
    from msm4sr.contract import DataInfo
    from msm4sr.recommenders import MSM4SR
    ds, feats = synthetic.make(0.003, dim=24)
    torch.manual_seed(0)
    return ds, feats, MSM4SR(DataInfo(0, ds.n_items, feats), MSM4SRConfig(dropout=0.0, moe_dropout=0.0))


def test_synthetic_data_follows_the_office_statistics(tiny):
    ds, feats, _ = tiny
    n = ds.lengths()
    assert n.min() >= 5 and abs(n.mean() - 527_209 / 68_224) < 1.0
    assert feats["text"].x.dtype == np.float16 and feats["text"].x.shape == (ds.n_items + 1, 10, 24)
    assert (feats["image"].counts[1:] >= 1).all() and feats["image"].counts[0] == 0


def test_reference_style_computes_our_losses_and_metrics(tiny):
    import reference
    from dataclasses import replace
    from msm4sr.contract import Batch
    from msm4sr.metrics import evaluate
    ds, _, model = tiny
    sp = ds.split()
    h, l, t = (torch.as_tensor(np.asarray(a), dtype=torch.long)[:64] for a in (sp["train"].history, sp["train"].length, sp["train"].target))
    model.cfg = cfg = replace(model.cfg, rho=0.3, mixup_max=0.0)
    b = Batch(h, l, t, h.shape[1], int(l.sum()), generator=torch.Generator().manual_seed(1))   # untrimmed, as the reference
    ours = model.loss(b, "pretrain")["loss"]
    ref = reference.pretrain_loss(model, h, l, t, torch.Generator().manual_seed(1), cfg)
    assert torch.allclose(ours, ref, atol=1e-5)
    import torch.nn.functional as F
    ft_ours = model.loss(Batch.of(h, l, t))["loss"]
    assert torch.allclose(ft_ours, reference.finetune_loss(model, h, l, t), atol=1e-5)
    m_ours, m_ref = evaluate(model, sp["test"]), reference.evaluate(model, sp["test"], "cpu")
    assert all(abs(m_ours[k] - m_ref[k]) < 5e-3 for k in m_ours)       # float noise may flip a near-tie


def test_benchmark_scripts_run_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("MSM4SR_BENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, str(BENCH / "training.py"), "--scale", "0.002", "--dim", "16", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text())["results"]
    assert {(x["impl"], x["stage"]) for x in res} == {(i, s) for i in ("ours", "reference") for s in ("pretrain", "finetune", "eval")}
    assert all(x["seconds_per_epoch"] > 0 and x["peak_memory_mb"] > 0 for x in res)
    assert "reference / ours" in r.stdout
    f = subprocess.run([sys.executable, str(BENCH / "floor.py"), "--scale", "0.002"], capture_output=True, text=True)
    assert f.returncode == 0 and "| pretrain | encoders |" in f.stdout


def test_floor_counts_the_real_samples(tiny):
    import floor
    ds, _, _ = tiny
    f = floor.floor(0.003)
    sp = ds.split()
    assert f["samples"] == len(sp["train"]) and f["tokens"] == int(np.asarray(sp["train"].length).sum())
    assert f["steps_pretrain"] == -(-len(sp["train"]) // 1024)


def test_memory_benchmark_repeated_runs_do_not_grow(tmp_path):
    "Three SASRec runs in one process under glibc's defaults (as in a notebook) end at about the same resident set."
    out = tmp_path / "m.json"
    r = subprocess.run([sys.executable, str(BENCH / "memory.py"), "sample", "--models", "sasrec", "--epochs", "1",
                        "--malloc", "default", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads(out.read_text())["results"][0]
    after = [x["rss_after_mb"] for x in res["runs"]]
    assert len(after) == 3 and after[-1] <= 1.1 * after[0], after        # growth from run to run, not a size
    assert {p["phase"] for p in res["phases"]} == {"load", "build", "train", "eval"}
    assert all(x["test"] == res["runs"][0]["test"] for x in res["runs"])  # same seed, same metrics


def test_propagation_benchmark_checks_both_ways_agree():
    "The script compares the gather and sparse ways' values and gradients before it times them."
    r = subprocess.run([sys.executable, str(BENCH / "propagation.py"), "--nodes", "40", "--edges", "300", "--reps", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| weighted hop | sparse_hop |" in r.stdout and "| edge dot products | sampled_dots |" in r.stdout


def test_choices_benchmark_sees_every_step_and_both_routings(capsys):
    "The clip hook records every training step's norm (and is removed after); routing trains GRCN both ways."
    import choices
    from fastcore.test import test_eq
    from msm4sr.registry import load_dataset
    real, threads = torch.nn.utils.clip_grad_norm_, torch.get_num_threads()
    choices.main(["clip", "sample", "--models", "sasrec", "--epochs", "1"])
    (c,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    test_eq(c["steps"], -(-len(load_dataset("sample", verbose=False).split()["train"]) // 256))
    assert 0 <= c["clipped"] <= c["steps"] and c["max_norm"] >= c["median_norm"] > 0, c
    assert torch.nn.utils.clip_grad_norm_ is real
    choices.main(["routing", "sample", "--seeds", "0", "--epochs", "1"])
    torch.set_num_threads(threads)  # the script runs on one thread; the rest of this worker does not
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    test_eq([x["routing"] for x in rows], ["paper", "reference"])
    assert all(0 <= x["test_R@20"] <= 1 and x["epochs_run"] == 1 for x in rows), rows


def test_recguru_benchmark_counts_each_phase_steps(capsys):
    "Steps per epoch as fit_cross runs them: the larger domain's users per batch; the target's samples per batch."
    import math, recguru
    from fastcore.test import test_eq
    from msm4sr.baselines.recguru import RecGURU, UserSequences, steps_per_epoch
    from msm4sr.transfer import load_domain
    threads = torch.get_num_threads()
    recguru.main(["sample-office", "sample-pantry", "--steps", "1"])
    torch.set_num_threads(threads)
    (r,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    s, t = load_domain("sample-office", verbose=False), load_domain("sample-pantry", verbose=False)
    us, ut = (UserSequences.of(d.split(50)["valid"], d.n_users) for d in (s, t))
    b, n = steps_per_epoch(us, ut, RecGURU.schedules["pretrain"].batch_size)
    test_eq([r["1 reconstruction"]["steps"], r["1 reconstruction"]["batch"]], [n, b])
    test_eq(r["3 fine-tuning"]["steps"], math.ceil(len(t.split(50)["train"]) / 256))
    assert all(r[k]["s_per_step"] > 0 for k in ("1 reconstruction", "2 adversarial", "3 fine-tuning")), r


def test_choices_overlap_trains_recguru_with_and_without_the_overlap_mse(capsys):
    "One line per setting; the MSE is computed (non-zero) only when on, over the pair's shared users."
    import choices
    from fastcore.test import test_eq
    threads = torch.get_num_threads()
    choices.main(["overlap", "sample-office", "sample-pantry", "--seeds", "0", "--epochs", "1", "--patience", "1",
                  "--phase-epochs", "1"])
    torch.set_num_threads(threads)
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    test_eq([x["overlap_mse"] for x in rows], [True, False])
    assert rows[0]["last_overlap_mse"] > 0 and rows[1]["last_overlap_mse"] is None, rows
    assert rows[0]["shared_users"] == rows[1]["shared_users"] > 0 and all(0 <= x["test_R@20"] <= 1 for x in rows)
