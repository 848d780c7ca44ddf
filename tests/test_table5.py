"Table V's own parameters are checked before any work (the notebook itself runs its defaults under nbdev-test)."
import pytest
import papermill as pm
from conftest import REPO


def test_table5_bad_parameters_stop_before_any_work(tmp_path):
    out = tmp_path / "reports"
    bad = {"cold_threshold": 0, "warm_reading": "c", "both_readings": "yes", "models": ["MSM4SR", "Nope"]}
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(REPO / "nbs" / "table5.ipynb"), str(tmp_path / "t5.ipynb"), cwd=str(tmp_path),
                            parameters={"out_dir": str(out), **bad}, progress_bar=False, kernel_name="python3")
    msg = str(e.value)
    assert "ParamError" in msg
    for name in ("cold_threshold=0", "warm_reading='c'", "both_readings='yes'", "models="):
        assert name in msg, name
    assert not out.exists() and not (tmp_path / "data").exists()  # no report written, no data read
