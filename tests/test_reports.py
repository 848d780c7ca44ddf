"Report notebooks run under papermill with their parameters (the `parameters` tag must survive nbdev-clean)."
import json
from pathlib import Path
import pandas as pd
import papermill as pm
from conftest import REPO


def test_table1_notebook_parameters(tmp_path):
    out = tmp_path / "reports"
    pm.execute_notebook(str(REPO / "nbs" / "table1.ipynb"), str(tmp_path / "t1.ipynb"), cwd=str(tmp_path),
                        parameters={"dataset": "sample", "out_dir": str(out), "min_user_interactions": 8},
                        progress_bar=False, kernel_name="python3")
    t = pd.read_csv(out / "sample" / "table1.csv")
    assert t["filters"].iloc[1].startswith("duplicates: keep last; users >= 8")
    assert (out / "sample" / "table1_seqlen.png").stat().st_size > 5000
    run = json.loads((out / "sample" / "run.json").read_text())["table1"]
    assert run["filters"]["min_user_interactions"] == 8 and run["seconds"] > 0
