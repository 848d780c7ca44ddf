"""Training under torchrun (2 processes, gloo, CPU) against one process on the sample dataset."""
import json, os, subprocess, sys
import pytest

torch = pytest.importorskip("torch")
from safetensors.torch import load_file


def torchrun(nproc, tmp_path, name, *args):
    "Run `msm4sr train sample` under torchrun; returns the JSON it wrote."
    out = tmp_path / f"{name}.json"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "-m", "msm4sr.cli", "train", "sample", "--out", str(out), "--save", str(tmp_path / name), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(out.read_text())


# Eq. (3)'s biases add one constant to every score of an item's softmax: their exact gradient is 0, so what
# Adam does to them is rounding noise scaled up to about lr per step (seen: 1.4e-4 apart after one epoch, while
# every other weight was within 1.5e-5), not a difference between one process and two. The test below shows
# they are inert.
INERT = ("fusion.w1.bias", "fusion.w2.bias")


def test_fusion_biases_cannot_change_the_output():
    "Shifting the attention fusion's biases leaves its output unchanged (padding, items without rows included)."
    from msm4sr.model import AttentionFusion
    torch.manual_seed(0)
    f, x, counts = AttentionFusion(8, 4), torch.randn(5, 3, 8), torch.tensor([3, 2, 1, 0, 3])
    before = f(x, counts)
    with torch.no_grad():
        f.w1.bias += torch.randn(4) * 3
        f.w2.bias += 5.0
        moved = f(x, counts)
        f.w1.weight += 0.5  # a weight that matters does change it: the check can fail
        assert not torch.allclose(f(x, counts), before, atol=1e-3)
    assert torch.allclose(moved, before, atol=1e-6), (moved - before).abs().max()
    assert all(any(n.endswith(k) for n, _ in f.named_parameters(prefix="enc.text.fusion")) for k in INERT)


def test_two_processes_take_the_same_steps_as_one(tmp_path):
    "Without dropout, DDP's averaged gradient of two half batches is the gradient of the whole batch (Eq. 13)."
    args = ("--model", "msm4sr", "--pretrain-epochs", "0", "--epochs", "1", "--dropout", "0", "--batch-size", "128")
    one, two = torchrun(1, tmp_path, "one", *args), torchrun(2, tmp_path, "two", *args)
    assert (one["world"], two["world"]) == (1, 2)
    from msm4sr.cli import allocator_env        # each rank restarted itself under the package's allocator setting
    assert one["glibc_tunables"] == two["glibc_tunables"] == (allocator_env() or os.environ).get("GLIBC_TUNABLES", "")
    a, b = load_file(str(tmp_path / "one" / "model.safetensors")), load_file(str(tmp_path / "two" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        if not k.endswith(INERT):
            assert torch.allclose(a[k], b[k], atol=1e-4), (k, (a[k] - b[k]).abs().max())
    # evaluation gathered across ranks: both processes ranked every user
    assert one["valid"]["R@20"] == pytest.approx(two["valid"]["R@20"], abs=0.01)


@pytest.mark.slow
def test_two_process_pretraining_reaches_one_process_quality(tmp_path):
    "Pre-training + fine-tuning in 2 processes lands where 1 process lands (within seed noise) and far above popularity."
    args = ("--model", "msm4sr", "--pretrain-epochs", "5", "--pretrain-batch-size", "256", "--epochs", "40",
            "--patience", "5")
    one, two = torchrun(1, tmp_path, "one", *args), torchrun(2, tmp_path, "two", *args)
    r1, r2 = one["test"]["R@20"], two["test"]["R@20"]
    print("test R@20: 1 process", r1, "2 processes", r2)
    assert two["pretrain"]["loss"][-1] < two["pretrain"]["loss"][0]
    # a guard against a broken multi-process path at one seed, not a noise estimate: over seeds 0-2 this short
    # schedule gave 0.58-0.77 in one process (early stopping can stall) and 0.76-0.77 in two (issue 5 notes)
    assert abs(r1 - r2) < 0.05
    from msm4sr.registry import load_dataset
    from msm4sr.metrics import evaluate
    from msm4sr.contract import DataInfo
    from msm4sr.baselines.popularity import Popularity
    ds = load_dataset("sample", verbose=False)
    pop = evaluate(Popularity(DataInfo.from_dataset(ds)), ds.split()["test"])["R@20"]
    assert min(r1, r2) > 3 * pop
