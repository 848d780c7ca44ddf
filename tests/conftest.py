import os
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    "Every test gets its own data and reports folders: tests never write into the repository."
    monkeypatch.setenv("MSM4SR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MSM4SR_REPORTS", str(tmp_path / "reports"))
    monkeypatch.delenv("MSM4SR_PROCESSED", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def real_data() -> Path:
    "The folder of real datasets ($MSM4SR_REAL_DATA); tests that need it skip when it is unset."
    p = os.environ.get("MSM4SR_REAL_DATA")
    if not p: pytest.skip("MSM4SR_REAL_DATA is not set")
    if not Path(p).is_dir(): pytest.skip(f"MSM4SR_REAL_DATA={p} is not a folder")
    return Path(p)
