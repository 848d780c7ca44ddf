"Package-level behaviour: light import, CLI, atomic processed datasets, clear errors on bad input."
import gzip, json, subprocess, sys
from pathlib import Path
import pytest
from msm4sr.core import DataError
from msm4sr.dataset import Filters
from msm4sr.registry import load_dataset
from msm4sr.sample import make_sample


def test_import_is_light():
    code = "import sys, msm4sr, msm4sr.registry, msm4sr.reports; print(sorted(m for m in ('torch', 'matplotlib', 'sentence_transformers', 'open_clip') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cli_prepare_sample(capsys):
    from msm4sr.cli import main
    assert main(["prepare", "sample"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 2)[-1])["items"] == 240


def test_interrupted_build_leaves_nothing(monkeypatch, tmp_path):
    import msm4sr.dataset as dsmod
    def boom(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(dsmod.pd.DataFrame, "to_parquet", boom)
    with pytest.raises(KeyboardInterrupt): load_dataset("sample", verbose=False)
    processed = tmp_path / "data" / "processed"
    assert not processed.exists() or list(processed.iterdir()) == []
    monkeypatch.undo()


def _copy_sample(tmp_path) -> Path:
    return make_sample(tmp_path / "mine", seed=3, n_users=60, items_per_category=6)


def test_malformed_lines_are_reported_with_file_and_line(tmp_path):
    d = _copy_sample(tmp_path)
    lines = gzip.decompress((d / "Sample_5.json.gz").read_bytes()).decode().splitlines()
    lines[10] = lines[10][:25]                                           # a broken JSON line at line 11
    lines[20] = json.dumps({"reviewerID": "U1", "unixReviewTime": 3})   # no asin at line 21
    (d / "Sample_5.json.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    ds = load_dataset(str(d), verbose=False)
    p = ds.meta["problems"]
    assert p["malformed_review_lines"]["examples"][0].startswith("Sample_5.json.gz:11 ")
    assert p["reviews_missing_fields"]["examples"] == ["Sample_5.json.gz:21 (missing asin)"]


def test_truncated_gzip_names_the_file(tmp_path):
    d = _copy_sample(tmp_path)
    b = (d / "meta_Sample.json.gz").read_bytes()
    (d / "meta_Sample.json.gz").write_bytes(b[: len(b) // 3])
    with pytest.raises(DataError, match=r"meta_Sample\.json\.gz:\d+: compressed file is truncated"):
        load_dataset(str(d), verbose=False)


def test_unreadable_image_is_reported_and_skipped(tmp_path):
    d = _copy_sample(tmp_path)
    img = sorted((d / "images").glob("*.png"))[0]
    img.write_bytes(b"\x89PNG broken")
    ds = load_dataset(str(d), verbose=False)
    ex = ds.meta["problems"]["unreadable_images"]["examples"][0]
    assert img.stem in ex and str(img.name) in ex
    assert not any(str(img) in p for ps in ds.items["image_paths"] for p in ps)


def test_empty_after_filtering_is_a_clear_error(tmp_path):
    d = _copy_sample(tmp_path)
    with pytest.raises(DataError, match="no interactions left after filters"):
        load_dataset(str(d), Filters(min_user_interactions=10_000), verbose=False)


def test_unknown_folder_format(tmp_path):
    (tmp_path / "x").mkdir(); (tmp_path / "x" / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match="cannot tell the format"):
        load_dataset(str(tmp_path / "x"), verbose=False)
