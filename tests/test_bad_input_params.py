"""Issue 10 §2, §3, §6: parameters are checked before any work (CLI and every report notebook), `prepare` options
each take effect, concurrent `prepare` runs return one result, damaged checkpoints are refused."""
import contextlib, io, json, multiprocessing as mp, os, re
from pathlib import Path
import pytest
import papermill as pm
from fastcore.test import test_eq as eq, test_fail as fails
from msm4sr.cli import main
from msm4sr.config import ParamError, check_params

REPO = Path(__file__).resolve().parents[1]
REPORTS = sorted((REPO / "nbs").glob("[a-z]*.ipynb"))


def _cells(nb_path):
    return json.loads(nb_path.read_text())["cells"]


def _param_names(nb_path) -> list[str]:
    cell = next(c for c in _cells(nb_path) if "parameters" in c["metadata"].get("tags", []))
    return re.findall(r"(?m)^([a-z_]+) = ", "".join(cell["source"]))


@pytest.mark.parametrize("nb", REPORTS, ids=lambda p: p.stem)
def test_report_notebook_checks_every_parameter_before_loading(nb):
    "The cell after `parameters` checks each of its names; no data is loaded before it."
    cells = [("".join(c["source"]), c["metadata"]) for c in _cells(nb) if c["cell_type"] == "code"]
    i = next(k for k, (_, m) in enumerate(cells) if "parameters" in m.get("tags", []))
    check = next(k for k, (s, _) in enumerate(cells) if "check_params(" in s or "check_report(" in s)
    loads = [k for k, (s, _) in enumerate(cells) if re.search(r"\b(setup|load_dataset)\(", s)]
    assert check > i and all(check <= k for k in loads), nb.name
    src = cells[check][0]
    eq([n for n in _param_names(nb) if f"{n}={n}" not in src], [])


@pytest.mark.parametrize("name,value,msg", [
    ("pretrain_epochs", -5, "pretrain_epochs=-5"), ("finetune_epochs", -1, "finetune_epochs=-1"),
    ("seeds", "abc", "seeds='abc'"), ("models", ["MSM4SR", "Nope"], "models=")])
def test_table2_bad_parameter_stops_before_any_work(tmp_path, name, value, msg):
    out = tmp_path / "reports"
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(REPO / "nbs" / "table2.ipynb"), str(tmp_path / "t2.ipynb"), cwd=str(tmp_path),
                            parameters={"out_dir": str(out), name: value}, progress_bar=False, kernel_name="python3")
    assert "ParamError" in str(e.value) and msg in str(e.value)
    assert not out.exists() and not (tmp_path / "data").exists()      # no report written, no data read


def test_table1_min_user_interactions_not_a_number(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="min_user_interactions='abc'"):
        pm.execute_notebook(str(REPO / "nbs" / "table1.ipynb"), str(tmp_path / "t1.ipynb"), cwd=str(tmp_path),
                            parameters={"out_dir": str(tmp_path / "r"), "min_user_interactions": "abc"},
                            progress_bar=False, kernel_name="python3")


def _cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("args,msg", [
    (("train", "sample", "--epochs", "-1"), "epochs=-1"), (("train", "sample", "--batch-size", "0"), "batch_size=0"),
    (("train", "sample", "--lr", "-1"), "lr=-1.0"), (("train", "sample", "--device", "bogus"), "device='bogus'"),
    (("train", "sample", "--dropout", "1.5"), "dropout=1.5"), (("prepare", "sample", "--min-user", "-1"), "min_user"),
    (("prepare", "sample", "--dedupe", "foo"), "dedupe='foo'"), (("images", "sample", "--workers", "0"), "workers=0")])
def test_cli_bad_parameter_exits_2_before_any_work(tmp_path, args, msg):
    rc, _, err = _cli(*args)
    eq(rc, 2); assert msg in err and "Traceback" not in err, err
    assert not (tmp_path / "data").exists()                               # nothing generated or read


def test_prepare_options_each_take_effect(tmp_path):
    "`--item-core` and `--dedupe` work without `--min-user`; each gets its own cache entry."
    rc, default, _ = _cli("prepare", "sample")
    rc2, cored, _ = _cli("prepare", "sample", "--item-core", "10")
    rc3, first, _ = _cli("prepare", "sample", "--dedupe", "first")
    eq((rc, rc2, rc3), (0, 0, 0))
    d, c, f = (json.loads(s[s.index("{"):]) for s in (default, cored, first))
    eq((d["filters"]["item_core"], c["filters"]["item_core"], f["filters"]["dedupe"]), (0, 10, "first"))
    eq(c["filters"]["min_user_interactions"], d["filters"]["min_user_interactions"])   # the rest: defaults
    assert c["items"] < d["items"]
    eq(len(list((tmp_path / "data" / "processed").glob("sample-*"))), 3)


def _load(q):
    from msm4sr.registry import load_dataset
    q.put(str(load_dataset("sample", verbose=False).path))


def test_concurrent_prepare_returns_one_result(tmp_path):
    from msm4sr.registry import resolve
    resolve("sample")                                                     # the raw sample exists before the race
    q = mp.get_context("spawn").Queue()
    ps = [mp.get_context("spawn").Process(target=_load, args=(q,)) for _ in range(2)]
    for p in ps: p.start()
    for p in ps: p.join(120)
    eq([p.exitcode for p in ps], [0, 0])
    paths = {q.get(timeout=5) for _ in ps}
    eq(len(paths), 1)
    left = [p.name for p in (tmp_path / "data" / "processed").iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    eq(left, [])


def test_damaged_checkpoints_are_refused(tmp_path):
    from msm4sr.config import ModelConfig
    from msm4sr.core import DataError
    from msm4sr.baselines.sasrec import SASRec
    from msm4sr.train import save_checkpoint, load_checkpoint
    cfg = ModelConfig(hidden=8, n_heads=2, inner=16)
    save_checkpoint(SASRec(20, cfg), tmp_path / "ck")
    m = SASRec(20, cfg)
    fails(lambda: load_checkpoint(m, tmp_path / "ck" / "model.safetensors"), contains="pass the checkpoint folder")
    w = tmp_path / "ck" / "model.safetensors"; raw = bytearray(w.read_bytes()); raw[-5] ^= 0x40; w.write_bytes(bytes(raw))
    fails(lambda: load_checkpoint(m, tmp_path / "ck"), contains="SHA-256 differs")
    (tmp_path / "ck" / "config.json").write_text("[1, 2]")
    fails(lambda: load_checkpoint(m, tmp_path / "ck"), contains="not a checkpoint config")
    (tmp_path / "ck" / "config.json").unlink()
    fails(lambda: load_checkpoint(m, tmp_path / "ck"), contains="needs config.json")
    fails(lambda: load_checkpoint(m, tmp_path / "nothing"), contains="no such checkpoint folder")
    with pytest.raises(DataError): load_checkpoint(m, tmp_path / "ck")
