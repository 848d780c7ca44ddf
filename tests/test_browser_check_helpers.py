"""The browser check's own helpers, without a browser: reading back a notebook Jupyter is still writing."""
import json, os, sys, threading, time
from pathlib import Path
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check import read_saved


def test_read_saved_waits_for_a_file_written_in_place(tmp_path):
    "A save seen half-way (the file truncated, mtime moved) is read again until it parses."
    p = tmp_path / "nb.ipynb"
    p.write_text('{"cells": []}')
    before = p.stat().st_mtime_ns
    later = lambda s: os.utime(p, ns=(before + s * 10**9,) * 2)  # whatever the file system's time resolution

    def finish():
        p.write_text('{"cells": [1]}')
        later(2)

    p.write_text("")  # what a reader can see between Jupyter's truncate and its write
    later(1)
    threading.Timer(0.5, finish).start()
    assert read_saved(p, before, deadline=time.time() + 10) == {"cells": [1]}


def test_read_saved_gives_up_at_the_deadline(tmp_path):
    p = tmp_path / "nb.ipynb"
    p.write_text('{"cells": []}')
    with pytest.raises(RuntimeError, match="not saved"):
        read_saved(p, p.stat().st_mtime_ns, deadline=time.time() + 0.3)
    before = p.stat().st_mtime_ns
    p.write_text("{")
    os.utime(p, ns=(before + 10**9,) * 2)
    with pytest.raises(json.JSONDecodeError):
        read_saved(p, before, deadline=time.time() + 0.3)
