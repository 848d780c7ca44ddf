"Bad inputs to the feature store, resumed image runs and committed report paths (issue 10, sections 5 and 7)."
import json, os, re
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from msm4sr.store import StoreEntry, store_entry

RUN_SPECIFIC = {"seconds", "images_per_s", "shards_computed_now", "store"}   # timings and place differ by nature


def ids_fn(calls=None):
    "Shard function whose rows are the item ids, so a shifted or short array shows."
    def fn(lo, hi):
        if calls is not None: calls.append((lo, hi))
        ids = np.arange(lo, hi)
        return {"x": np.repeat(ids[:, None], 3, 1).astype(np.float16), "counts": (ids % 4).astype(np.int16)}
    return fn


def first_shard_only(fn):
    def f(lo, hi):
        if lo > 1: raise RuntimeError("simulated interruption")
        return fn(lo, hi)
    return f


def full_ids(out, n):
    x = out["x"]
    return x.shape == (n + 1, 3) and (x[1:, 0] == np.arange(1, n + 1)).all() and not x[0].any()


# --- Section 5, bullet 1: the shard layout is part of what a resume checks -----------------------------------

@pytest.mark.parametrize("first,then", [(16, 4096), (16, 50), (100, 16), (6, 4)])
def test_resume_with_another_shard_size_returns_every_item(tmp_path, first, then):
    "Interrupted with one shard size, resumed with another: all 148 rows (it once gave 16), marked complete."
    with pytest.raises(RuntimeError, match="simulated"):
        store_entry("toy", "t", {"k": 1}, first, tmp_path).compute(148, first_shard_only(ids_fn()))
    e = store_entry("toy", "t", {"k": 1}, then, tmp_path)
    assert not e.complete
    assert full_ids(e.compute(148, ids_fn()), 148) and e.complete and full_ids(e.load(), 148)
    n_shards = len(range(1, 149, then))
    assert sorted(p.name for p in e.path.glob("shard-*")) == [e.shard(i).name for i in range(n_shards)]
    calls = []                          # the complete entry is reused, in its own layout, by any shard size
    assert full_ids(store_entry("toy", "t", {"k": 1}, first, tmp_path).compute(148, ids_fn(calls)), 148)
    assert calls == []


def test_same_size_shards_of_another_range_are_not_reused(tmp_path):
    "n=10: shard 1 of size 4 holds items 5..8; with size 6 shard 1 also has 4 rows but must hold items 7..10."
    def two_shards(lo, hi):
        if lo >= 9: raise RuntimeError("simulated interruption")
        return ids_fn()(lo, hi)
    with pytest.raises(RuntimeError, match="simulated"):
        store_entry("toy", "t", {}, 4, tmp_path).compute(10, two_shards)
    calls = []
    assert full_ids(store_entry("toy", "t", {}, 6, tmp_path).compute(10, ids_fn(calls)), 10)
    assert calls == [(1, 7), (7, 11)]


def test_complete_mark_over_short_shards_is_not_trusted(tmp_path):
    "The state the old code left: one 16-row shard (no recorded range), meta.json complete for 148 items."
    from safetensors.numpy import save_file
    e = store_entry("toy", "t", {}, 4096, tmp_path); e.path.mkdir(parents=True)
    save_file(ids_fn()(1, 17), str(e.shard(0)))
    meta = {"complete": True, "n_items": 148, "shard_size": 4096, "shards": 1}
    (e.path / "meta.json").write_text(json.dumps(meta))
    assert not e.complete and "expected 148" in e.check()
    with pytest.raises(RuntimeError, match=re.escape(str(e.path)) + ".*shard-00000.safetensors has rows"):
        e.load()
    assert full_ids(e.compute(148, ids_fn()), 148) and e.complete


@pytest.mark.parametrize("meta", [{"n_items": 300}, {"shards": 2}, {"shard_size": 0}, {"complete": "yes"},
                                  {"n_items": None}])
def test_meta_layout_that_does_not_cover_the_items_is_not_trusted(tmp_path, meta):
    e = store_entry("toy", "t", {}, 4096, tmp_path); e.compute(148, ids_fn())
    m = e.meta; (e.path / "meta.json").write_text(json.dumps({**m, **meta}))
    assert not e.complete
    with pytest.raises(RuntimeError, match="not complete"): e.load()


@pytest.mark.parametrize("damage", ["truncate", "garble", "empty", "delete", "legacy-legit"])
def test_damaged_shard_is_recomputed_alone(tmp_path, damage):
    e = store_entry("toy", "t", {}, 50, tmp_path); e.compute(148, ids_fn())
    p = e.shard(1); b = p.read_bytes()
    if damage == "truncate": p.write_bytes(b[:-7])
    if damage == "garble": p.write_bytes(b"\xff" * 8 + b[8:])
    if damage == "empty": p.write_bytes(b"")
    if damage == "delete": p.unlink()
    if damage == "legacy-legit":        # written before shards recorded their range, right rows: trusted
        from safetensors.numpy import save_file
        save_file(ids_fn()(51, 101), str(p)); assert e.complete; return
    assert not e.complete and p.name in e.check()
    with pytest.raises(RuntimeError, match=p.name): e.load()
    calls = []
    assert full_ids(e.compute(148, ids_fn(calls)), 148) and calls == [(51, 101)]


def test_shard_function_with_wrong_row_count_is_an_error(tmp_path):
    e = store_entry("toy", "t", {}, 4, tmp_path)
    with pytest.raises(ValueError, match=f"{e.path.name}: items 1..4 need 4 rows per array"):
        e.compute(10, lambda lo, hi: ids_fn()(lo, hi - 1))
    with pytest.raises(ValueError, match="no arrays"):
        e.compute(10, lambda lo, hi: {})
    assert not e.complete


@pytest.mark.parametrize("size", [0, -4, 1.5, True, "8", None])
def test_bad_shard_size_or_item_count(tmp_path, size):
    with pytest.raises(ValueError, match="shard_size must be a positive integer"):
        store_entry("toy", "t", {}, size, tmp_path)
    with pytest.raises(ValueError, match="n_items must be a positive integer"):
        store_entry("toy", "t", {}, 4, tmp_path).compute(0 if size is None else -1, ids_fn())


def test_half_written_shards_of_dead_runs_are_removed(tmp_path):
    e = store_entry("toy", "t", {}, 4, tmp_path); e.path.mkdir(parents=True)
    dead = e.path / ".shard-00000.safetensors.tmp-999999999"
    alive = e.path / f".shard-00001.safetensors.tmp-{os.getppid()}"
    dead.write_bytes(b"x"); alive.write_bytes(b"x")
    e.compute(10, ids_fn())
    assert not dead.exists() and alive.exists()


def test_two_processes_computing_one_entry_both_get_every_item(tmp_path):
    "Ranks of a torchrun job compute the same entries at once; neither may see the other's work as incomplete."
    import subprocess, sys
    code = ("import sys, time, numpy as np; from msm4sr.store import store_entry\n"
            "def fn(lo, hi):\n    time.sleep(0.02); return {'x': np.arange(lo, hi)}\n"
            f"out = store_entry('toy', 't', {{}}, 5, {str(tmp_path)!r}).compute(100, fn)\n"
            "assert (out['x'][1:] == np.arange(1, 101)).all()\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs: assert p.wait(timeout=120) == 0, p.stderr.read()[-2000:]
    assert store_entry("toy", "t", {}, 5, tmp_path).complete


# --- Section 5, bullet 2: a resumed image run restores everything the uninterrupted one records ---

@pytest.fixture
def sample_with_bad_images():
    "The sample with unreadable images in the first and last shards (of 80 items), one of them an item's first."
    from msm4sr.registry import load_dataset
    ds = load_dataset("sample", verbose=False)
    two = np.flatnonzero(ds.items["image_paths"].map(len).to_numpy() == 2) + 1
    bad = {int(two[0]): 1, int(two[1]): 0, int(two[-1]): 0}
    for it, j in bad.items(): Path(ds.items["image_paths"].iloc[it - 1][j]).write_bytes(b"\x89PNG\r\n broken")
    assert two[1] <= 80 < 160 < two[-1]
    return ds, bad


def interrupt_after_first_shard(monkeypatch, kind):
    "Make the per-shard function of `kind` entries raise after the first shard."
    compute = StoreEntry.compute
    def interrupted(self, n_items, fn, *a, **k):
        return compute(self, n_items, first_shard_only(fn) if kind in self.path.name else fn, *a, **k)
    monkeypatch.setattr(StoreEntry, "compute", interrupted)


def same(meta):
    return {k: v for k, v in meta.items() if k not in RUN_SPECIFIC}


@pytest.mark.parametrize("first,then", [(80, 80), (80, 120)])
def test_resumed_keywords_match_an_uninterrupted_run(tmp_path, monkeypatch, sample_with_bad_images,
                                                     first, then):
    from msm4sr.image_keywords import image_keywords, word_dictionary
    ds, bad = sample_with_bad_images
    words = word_dictionary()[:200]
    full = image_keywords(ds, dictionary=words, shard_size=then, root=tmp_path / "a")
    with monkeypatch.context() as m:
        interrupt_after_first_shard(m, "clip-keywords")
        with pytest.raises(RuntimeError, match="simulated"):
            image_keywords(ds, dictionary=words, shard_size=first, root=tmp_path / "b")
    resumed = image_keywords(ds, dictionary=words, shard_size=then, root=tmp_path / "b")
    for a in ("idx", "sim", "counts"):
        x, y = getattr(resumed, a), getattr(full, a)
        assert (x.dtype, x.shape, x.tobytes()) == (y.dtype, y.shape, y.tobytes()), a
    assert same(resumed.meta) == same(full.meta)
    assert full.meta["images_skipped"] == {str(it): [j] for it, j in bad.items()}
    assert full.meta["problems"]["unreadable_images"]["count"] == 3
    assert resumed.table(ds).to_csv(index=False) == full.table(ds).to_csv(index=False)
    t = full.table(ds)                  # the item whose first image is unreadable: its keywords are of image 2
    assert t[t.item == list(bad)[1]].image_path.str.endswith("_1.png").all()


def test_keyword_table_refuses_counts_its_skip_record_does_not_explain(tmp_path, sample_with_bad_images):
    "What the lost record did: keywords of image 2 printed beside the file of (unreadable) image 1."
    from msm4sr.image_keywords import image_keywords, word_dictionary
    ds, bad = sample_with_bad_images
    kw = image_keywords(ds, dictionary=word_dictionary()[:50], shard_size=80, root=tmp_path)
    kw.meta["images_skipped"] = {}
    sid = ds.items["source_id"].iloc[list(bad)[0] - 1]
    with pytest.raises(RuntimeError, match=f"item {sid}.*1 images embedded, but 2 files less 0 skipped"):
        kw.table(ds)


def test_resumed_resnet_features_match_an_uninterrupted_run(tmp_path, monkeypatch, sample_with_bad_images):
    from msm4sr.image_features import resnet_features
    ds, bad = sample_with_bad_images
    kw = dict(arch="resnet18", weights="untrained", image_size=32, shard_size=80)
    full = resnet_features(ds, root=tmp_path / "a", **kw)
    with monkeypatch.context() as m:
        interrupt_after_first_shard(m, "resnet")
        with pytest.raises(RuntimeError, match="simulated"): resnet_features(ds, root=tmp_path / "b", **kw)
    resumed = resnet_features(ds, root=tmp_path / "b", **kw)
    assert resumed.x.tobytes() == full.x.tobytes() and resumed.counts.tobytes() == full.counts.tobytes()
    assert same(resumed.meta) == same(full.meta) and len(full.meta["images_skipped"]) == 3


# --- Section 7, bullet 1: committed reports carry no absolute path of the machine that built them ---

def test_run_json_paths_are_portable(tmp_path):
    from msm4sr.core import data_dir
    from msm4sr.reports import record_run, report_dir, run_info, write_table
    from msm4sr.store import features_dir
    folder = report_dir("toy", tmp_path / "reports")
    info = run_info(outputs={"md": str(folder / "t.md"), "png": folder / "sub" / "t.png"},
                    feature_stores={"text": str(features_dir() / "toy-text-0123"), "image": None},
                    processed=str(data_dir() / "processed" / "toy-1"),
                    clip=f"ViT-B-32:file:{Path.home()}/w.bin:1:2",
                    notes=[f"source: {data_dir()}/toy (recbole)"], seeds=[0, 1])
    record_run(folder, "t", info)
    text = (folder / "run.json").read_text()
    assert str(tmp_path) not in text and str(Path.home()) + "/" not in text
    r = json.loads(text)["t"]
    assert r["outputs"] == {"md": "t.md", "png": "sub/t.png"} and r["seeds"] == [0, 1]
    assert r["feature_stores"] == {"text": "$MSM4SR_FEATURES/toy-text-0123", "image": None}
    assert r["processed"] == "$MSM4SR_PROCESSED/toy-1" and r["clip"] == "ViT-B-32:file:~/w.bin:1:2"
    write_table(pd.DataFrame({"a": [1]}), folder, "t", "T", [f"source: {data_dir()}/toy (recbole)"])
    assert "- source: $MSM4SR_DATA/toy (recbole)\n" in (folder / "t.md").read_text()


def test_fig2_report_names_images_relative_to_the_dataset_folder(tmp_path):
    "fig2.md, image_keywords.csv and run.json hold no absolute path (they listed the builder's home)."
    import papermill as pm
    from conftest import REPO
    words = tmp_path / "words.txt"
    from msm4sr.image_keywords import word_dictionary
    words.write_text("\n".join(word_dictionary()[:300]))
    out = tmp_path / "reports"
    pm.execute_notebook(str(REPO / "nbs" / "fig2.ipynb"), str(tmp_path / "f2.ipynb"), cwd=str(tmp_path),
                        parameters={"dataset": "sample", "out_dir": str(out), "dictionary": str(words)},
                        progress_bar=False, kernel_name="python3")
    folder = out / "sample"
    for name in ("fig2.md", "image_keywords.csv", "run.json"):
        text = (folder / name).read_text()
        assert str(tmp_path) not in text and str(REPO) not in text and str(Path.home()) + "/" not in text, name
    t = pd.read_csv(folder / "image_keywords.csv")
    assert t.image_path.str.match(r"^images/SMP\d+(_\d)?\.png$").all()
    md = (folder / "fig2.md").read_text()
    assert "relative to the dataset folder (`$MSM4SR_DATA/sample`)" in md and "(`images/SMP" in md
    r = json.loads((folder / "run.json").read_text())["fig2"]
    assert r["outputs"] == {"png": "fig2.png", "md": "fig2.md", "keywords": "image_keywords.csv"}
