"Data with item IDs only (no text, no images), as a new user brings it: rows that need a modality are named, not fatal."
import contextlib, io, json
import numpy as np
import papermill as pm
import pytest
from fastcore.test import test_eq as eq
from msm4sr.cli import main

from conftest import REPO


@pytest.fixture
def id_only(tmp_path):
    "A small dataset in the S3-Rec format: user sequences and item attributes, no text, no images."
    d = tmp_path / "idonly"
    d.mkdir()
    rng = np.random.default_rng(0)
    lines = [" ".join(map(str, [u, *rng.integers(1, 41, size=int(rng.integers(5, 12)))])) for u in range(1, 61)]
    (d / "Idonly.txt").write_text("\n".join(lines) + "\n")
    (d / "Idonly_item2attributes.json").write_text(json.dumps({str(i): [i % 7 + 1] for i in range(1, 41)}))
    return d


def test_cli_train_multimodal_model_on_id_only_data_is_one_line(id_only, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["train", str(id_only), "--model", "msm4sr", "--epochs", "1"])
    eq(rc, 2)
    assert "MSM4SR needs text or image features" in err.getvalue() and "Traceback" not in err.getvalue(), err.getvalue()
    assert not (tmp_path / "data" / "features").exists()  # stopped before any feature was computed


def test_table2_on_id_only_data_runs_the_rows_that_need_no_modality(id_only, tmp_path):
    out = tmp_path / "reports"
    pm.execute_notebook(str(REPO / "nbs" / "table2.ipynb"), str(tmp_path / "t2.ipynb"), cwd=str(tmp_path),
                        parameters={"dataset": str(id_only), "out_dir": str(out), "finetune_epochs": 1,
                                    "models": ["MSM4SR", "SASRecM", "Popularity"]},
                        progress_bar=False, kernel_name="python3")
    runs = (out / "idonly" / "table2_runs.csv").read_text()
    assert "Popularity" in runs and "MSM4SR" not in runs and "SASRecM" not in runs, runs
    md = (out / "idonly" / "table2.md").read_text()
    assert "MSM4SR: not run — needs text or image features" in md, md
    assert "SASRecM: not run — needs text or image features" in md, md
    assert "SASRec, MV-RNN, S3-Rec, SINE, DIF-SR, LightGCN, GRCN, DualGNN: not run — not asked for" in md, md
