"""Bring your own data (issue 16, part 3): public layouts the project had never seen, as a new user brings them.

One test (or more) per item of the issue; tiny files built here, real folders only where
`$MSM4SR_REAL_DATA` has them. Every case either reads, or stops with one short line naming the file (and
line) and what was expected; nothing is dropped without a count in `meta.json`."""
import json
from pathlib import Path

import numpy as np
import pytest

from msm4sr.atomic import read_unisrec
from msm4sr.core import DataError
from msm4sr.dataset import NO_FILTERS, build
from msm4sr.registry import load_dataset

H = "user_id:token\titem_id_list:token_seq\titem_id:token\n"


def _split(d: Path, seqs: dict, cut=50, order=-1, stem="S") -> Path:
    "UniSRec rows of `seqs` (user -> items), histories cut at `cut`, training rows in `order` (-1: longest first)."
    d.mkdir(exist_ok=True)
    parts = {"train": [], "valid": [], "test": []}
    for u, s in seqs.items():
        row = lambda t: f"{u}\t{' '.join(s[max(0, t - cut):t])}\t{s[t]}\n"
        parts["train"] += [row(t) for t in range(1, len(s) - 2)[::order]]
        parts["valid"].append(row(len(s) - 2))
        parts["test"].append(row(len(s) - 1))
    for p, rows in parts.items():
        (d / f"{stem}.{p}.inter").write_text(H + "".join(rows))
    return d


# -- UniSRec: sequences from the rows' content, not their order ---------------------------------------------
def test_unisrec_longest_prefix_first_with_cut_histories(tmp_path):
    rng = np.random.default_rng(0)
    seqs = {"0": [str(i) for i in rng.integers(0, 30, 75)], "1": [str(i) for i in rng.integers(0, 30, 12)],
            "2": ["3", "4", "5"]}
    for order in (-1, 1):
        d = _split(tmp_path / f"o{order}", seqs, cut=50, order=order)
        got = read_unisrec(d).interactions.groupby("user", sort=False)["item"].agg(list).to_dict()
        assert got == seqs


def test_unisrec_split_that_is_not_leave_one_out_is_one_short_line(tmp_path):
    s = [str(i) for i in range(70)]
    d = _split(tmp_path / "x", {"7": s})
    rows = (d / "S.train.inter").read_text().splitlines()
    rows[5] = rows[5].rsplit("\t", 1)[0] + "\t99"         # one training target changed
    (d / "S.train.inter").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError) as e:
        read_unisrec(d)
    msg = str(e.value)
    assert msg.endswith("S.train.inter: user 7: no training row has the history ['14', …, '62', '99'] (50 items) "
                        "of position 64; rows not matched: lines 2, 3, 4 (+1); not a leave-one-out split"), msg
    assert len(msg.split(": ", 1)[1]) < 200 and "\n" not in msg


def test_scientific2018full_loads(real_data):
    "The complete UniSRec Scientific set: training rows longest prefix first, 3 users cut at 50."
    folder = real_data / "scientific2018full"
    if not folder.is_dir():
        pytest.skip("no scientific2018full in $MSM4SR_REAL_DATA")
    ds = load_dataset(str(folder), verbose=False)
    assert (ds.n_users, ds.n_items) == (8442, 4385)
    # every row is one target, plus each user's first item: 34,101 + 8,442 + 8,442 + 8,442
    assert ds.n_interactions == 59427 and int(np.minimum(ds.lengths(), 51).sum()) == 59384
    assert ds.lengths().max() == 80 and ds.meta["split"].startswith("given by the UniSRec files")


# -- .item2id / .user2id beside or instead of .item2index / .user2index -----------------------------------
def test_unisrec_item2id_and_user2id_are_read(tmp_path):
    d = _split(tmp_path / "m", {"0": ["0", "1", "2", "3"], "1": ["2", "1", "0"]})
    (d / "S.item2id").write_text("".join(f"A{i}\t{i}\n" for i in range(4)))
    (d / "S.user2id").write_text("U0\t0\nU1\t1\n")
    raw = read_unisrec(d)
    assert sorted(raw.interactions.user.unique()) == ["U0", "U1"] and set(raw.interactions.item) == {"A0", "A1", "A2", "A3"}
    (d / "S.item2index").write_text((d / "S.item2id").read_text())       # both names, the same map: noted
    raw = read_unisrec(d)
    assert raw.info["not_read"] == {"S.item2id": "the same map as S.item2index"}
    assert [p.name for p in raw.sources].count("S.item2index") == 1
    (d / "S.item2id").write_text("A0\t0\nA1\t1\nA9\t2\nA3\t3\n")          # both names, different maps: error
    with pytest.raises(DataError, match=r"S\.item2index and S\.item2id give index 2 different ASINs "
                                        r"\('A2', 'A9'\); keep one"):
        read_unisrec(d)
