"""Bad input to the readers (issue 10, sections 4 and 6): one test per input class, tiny files built here.

Every case either stops with a `DataError` naming the file (and line) or is counted in the problems
ledger with file:line examples; none may end in a raw traceback or be dropped silently."""
import gzip, json, os, subprocess, sys, time, tracemalloc
from pathlib import Path

import numpy as np
import pytest

from msm4sr.amazon import read_amazon2018
from msm4sr.atomic import read_recbole, read_unisrec
from msm4sr.core import DataError, Problems, atomic_dir, clean_leftovers, iter_lines
from msm4sr.dataset import Dataset, build, NO_FILTERS


# -- helpers -----------------------------------------------------------------------------------
def _gz(path: Path, lines):
    with gzip.open(path, "wb") as f:
        f.write(b"".join((l if isinstance(l, bytes) else l.encode()) + b"\n" for l in lines))


def _review(u, i, t):
    return json.dumps({"reviewerID": u, "asin": i, "unixReviewTime": t})


GOOD_REVIEWS = [_review(f"U{u}", f"B{k}", 100 * k + u) for u in range(3) for k in range(5)]
GOOD_META = [json.dumps({"asin": f"B{k}", "title": f"Item {k}"}) for k in range(5)]


def _amazon(tmp_path, reviews=(), meta=(), meta_bytes=None) -> Path:
    d = tmp_path / "amz"; d.mkdir()
    _gz(d / "Toy_5.json.gz", list(GOOD_REVIEWS) + list(reviews))
    if meta_bytes is not None: (d / "meta_Toy.json").write_bytes(meta_bytes)
    else: _gz(d / "meta_Toy.json.gz", list(GOOD_META) + list(meta))
    return d


def _examples(raw, kind):
    return raw.problems.to_dict()[kind]["examples"]


# -- Amazon 2018 -------------------------------------------------------------------------------
def test_amazon_review_time_not_a_time_is_a_malformed_line(tmp_path):
    "NaN, Infinity, 1e20, a 20-digit string and a negative time: counted with file:line, not a traceback."
    bad = ['{"reviewerID": "U9", "asin": "B1", "unixReviewTime": NaN}',
           '{"reviewerID": "U9", "asin": "B1", "unixReviewTime": Infinity}',
           '{"reviewerID": "U9", "asin": "B1", "unixReviewTime": 1e20}',
           '{"reviewerID": "U9", "asin": "B1", "unixReviewTime": "99999999999999999999"}',
           '{"reviewerID": "U9", "asin": "B1", "unixReviewTime": -5}']
    raw = read_amazon2018(_amazon(tmp_path, bad), check_images=False)
    ex = _examples(raw, "malformed_review_lines")
    assert [e.split(" ")[0] for e in ex] == [f"Toy_5.json.gz:{n}" for n in range(16, 21)]
    assert "unixReviewTime nan is not unix seconds" in ex[0] and "inf" in ex[1] and "1e+20" in ex[2]
    assert len(raw.interactions) == 15 and raw.interactions.timestamp.min() >= 0
    assert build(raw, NO_FILTERS).n_users == 3


def test_amazon_ids_that_are_not_strings_are_malformed_lines(tmp_path):
    "A dict reviewerID, a numeric or list asin (reviews and metadata) are counted, never stringified."
    reviews = ['{"reviewerID": {"id": 1}, "asin": "B1", "unixReviewTime": 5}',
               '{"reviewerID": "U9", "asin": 12, "unixReviewTime": 5}',
               '{"reviewerID": "U9", "asin": ["B1"], "unixReviewTime": 5}']
    meta = ['{"asin": ["B1", "B2"], "title": "two"}', '{"asin": 3, "title": "number"}']
    raw = read_amazon2018(_amazon(tmp_path, reviews, meta), check_images=False)
    assert _examples(raw, "malformed_review_lines") == [
        "Toy_5.json.gz:16 (reviewerID must be a string, not dict)",
        "Toy_5.json.gz:17 (asin must be a string, not int)",
        "Toy_5.json.gz:18 (asin must be a string, not list)"]
    assert _examples(raw, "malformed_metadata_lines") == [
        "meta_Toy.json.gz:6 (asin must be a string, not list)",
        "meta_Toy.json.gz:7 (asin must be a string, not int)"]
    assert sorted(raw.interactions.user.unique()) == ["U0", "U1", "U2"]


def test_amazon_deeply_nested_json_is_a_malformed_line(tmp_path):
    "json.loads raises RecursionError (not a ValueError) on deep nesting: still a counted line."
    raw = read_amazon2018(_amazon(tmp_path, ["[" * 100_000]), check_images=False)
    assert _examples(raw, "malformed_review_lines") == ["Toy_5.json.gz:16 (JSON nested too deeply)"]


@pytest.mark.parametrize("name, content", [("meta_Toy.json", b""), ("meta_Toy.json", b"\n \n"),
                                           ("meta_Toy.json.gz", gzip.compress(b""))],
                         ids=["0-byte", "blank-lines", "empty-gz"])
def test_amazon_empty_metadata_file_is_an_error(tmp_path, name, content):
    "An interrupted copy would otherwise leave every item without text, counted but easy to miss."
    d = _amazon(tmp_path); (d / "meta_Toy.json.gz").unlink(); (d / name).write_bytes(content)
    with pytest.raises(DataError, match=r"meta_Toy\.json(\.gz)?: no metadata lines"):
        read_amazon2018(d, check_images=False)


def test_amazon_metadata_with_no_usable_line_is_an_error(tmp_path):
    d = _amazon(tmp_path, meta_bytes=b"{oops\n[1]\n")
    with pytest.raises(DataError, match=r"meta_Toy\.json: none of the 2 metadata lines is usable "
                                        r"\(first: meta_Toy\.json:1: "):
        read_amazon2018(d, check_images=False)


def test_invalid_utf8_user_ids_stay_distinct_and_are_counted(tmp_path):
    "b'U\\xff' and b'U\\xfe' used to become the same 'U\\ufffd' user (455 -> 454)."
    bad = [b'{"reviewerID": "X\xff", "asin": "B%d", "unixReviewTime": %d}' % (k, k) for k in range(5)]
    bad += [b'{"reviewerID": "X\xfe", "asin": "B%d", "unixReviewTime": %d}' % (k, k) for k in range(5)]
    raw = read_amazon2018(_amazon(tmp_path, bad), check_images=False)
    kind = "invalid_utf8_lines (bytes kept as U+EF80..U+EFFF)"
    assert raw.problems[kind] == 10 and _examples(raw, kind)[0].startswith("Toy_5.json.gz:16 (invalid UTF-8")
    ds = build(raw, NO_FILTERS)
    assert ds.n_users == 5 and {"X\uefff", "X\ueffe"} <= set(ds.users.source_id)
    back = Dataset.load(ds.save(tmp_path / "ds"))                 # parquet keeps them as valid UTF-8
    assert back.n_users == 5 and "X\ueffe" in set(back.users.source_id)


def test_overlong_unterminated_line_is_skipped_with_bounded_memory(tmp_path):
    """An unterminated multi-megabyte line (a Python-literal list: 1.3 GB in Python's parser) is counted
    with file:line and costs about its cap in memory; lines after an over-long one keep their numbers."""
    huge = b"{'reviewerID': 'U7', 'asin': 'B1', 'also': [" + b"1, " * ((6 << 20) // 3)
    d = _amazon(tmp_path, meta=[])
    with gzip.open(d / "Toy_5.json.gz", "ab") as f:
        f.write(huge + b"\n" + _review("U0", "B4", 999).encode() + b"\n" + huge)   # the last has no newline
    tracemalloc.start()
    try:
        raw = read_amazon2018(d, check_images=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.split(" ")[0] for e in _examples(raw, "lines_too_long (skipped)")] == \
        ["Toy_5.json.gz:16", "Toy_5.json.gz:18"]
    assert len(raw.interactions) == 16 and peak < 64 << 20, f"peak {peak / 2**20:.0f} MiB"


def test_python_literal_line_over_the_parse_cap_is_malformed(tmp_path):
    "A complete but huge Python-literal dict is not handed to ast (which needs ~300x its size)."
    lit = "{'reviewerID': 'U7', 'asin': 'B1', 'unixReviewTime': 5, 'x': [" + "1, " * 300_000 + "1]}"
    raw = read_amazon2018(_amazon(tmp_path, [lit]), check_images=False)
    assert "characters is longer than the" in _examples(raw, "malformed_review_lines")[0]


def test_iter_lines_without_a_ledger_raises_on_what_it_would_count(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"ok\n" + b"x" * 50 + b"\n")
    with pytest.raises(DataError, match=r"a\.txt:2: line of 51 bytes, longer than the 10 accepted"):
        list(iter_lines(tmp_path / "a.txt", max_bytes=10))
    p = Problems()
    assert list(iter_lines(tmp_path / "a.txt", p, max_bytes=10)) == [(1, "ok")]
    assert p["lines_too_long (skipped)"] == 1


def test_amazon_empty_review_file_is_an_error(tmp_path):
    d = _amazon(tmp_path); (d / "Toy_5.json.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(DataError, match=r"Toy_5\.json\.gz: empty file"):
        read_amazon2018(d, check_images=False)


def test_line_cap_can_be_raised_by_the_user(tmp_path, monkeypatch):
    import msm4sr.core
    (tmp_path / "a.txt").write_bytes(b"x" * 100 + b"\n")
    monkeypatch.setattr(msm4sr.core, "MAX_LINE_BYTES", 50)
    assert list(iter_lines(tmp_path / "a.txt", Problems())) == []
    monkeypatch.setattr(msm4sr.core, "MAX_LINE_BYTES", 200)
    assert list(iter_lines(tmp_path / "a.txt")) == [(1, "x" * 100)]


# -- RecBole atomic ----------------------------------------------------------------------------
def _recbole(tmp_path, times, link=None) -> Path:
    d = tmp_path / "rb"; d.mkdir()
    (d / "R.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                               + "".join(f"u{k % 2}\t{k}\t{t}\n" for k, t in enumerate(times)))
    if link is not None: (d / "R.link").write_text("item_id:token\tentity_id:token\n" + link)
    return d


def test_recbole_timestamps_beyond_int64_are_counted_not_wrapped(tmp_path):
    times = [10, 20, 30, 40, 50, 60, "inf", "1e300", "-5e18", "nan", "-inf"]
    raw = read_recbole(_recbole(tmp_path, times))
    ex = _examples(raw, "unparseable_timestamps (line dropped)")
    assert ex == ["R.inter:8 ('inf')", "R.inter:9 ('1e300')", "R.inter:10 ('-5e18')", "R.inter:11 ('nan')",
                  "R.inter:12 ('-inf')"]
    assert raw.interactions.timestamp.tolist() == [10, 20, 30, 40, 50, 60]   # order kept, no int64 min


def test_recbole_mixed_dates_and_numbers_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"R\.inter: timestamps mix YYYY-MM-DD dates \(line 3: '2015-06-23'\) "
                                        r"and numbers \(line 2: '1434'\)"):
        read_recbole(_recbole(tmp_path, ["1434", "2015-06-23", "2015-06-24"]))


def test_recbole_all_timestamps_bad_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"R\.inter: no usable interaction lines"):
        read_recbole(_recbole(tmp_path, ["inf", "x"]))


@pytest.mark.parametrize("link, msg", [
    ("0\tB0\n1\tB1\n0\tB9\n",
     r"R\.link:4: item id '0' is linked to two ASINs: 'B0' on line 2 and 'B9' on line 4"),
    ("0\tB0\n1\tB0\n", r"R\.link:3: ASIN 'B0' is linked to two item ids: '0' on line 2 and '1' on line 3")],
    ids=["id-two-asins", "asin-two-ids"])
def test_recbole_ambiguous_link_is_an_error(tmp_path, link, msg):
    with pytest.raises(DataError, match=msg):
        read_recbole(_recbole(tmp_path, [1, 2, 3, 4], link))


def test_recbole_repeated_link_line_is_counted(tmp_path):
    raw = read_recbole(_recbole(tmp_path, [1, 2], "0\tB0\n1\tB1\n0\tB0\n"))
    assert _examples(raw, "duplicate_lines_R.link") == ["R.link:4"]
    assert raw.interactions.item.tolist() == ["B0", "B1"]


# -- UniSRec downstream ------------------------------------------------------------------------
H = "user_id:token\titem_id_list:token_seq\titem_id:token\n"


def _unisrec(tmp_path, test_row="0\t1 2 3\t4", n_index=5) -> Path:
    "One user 0 -> 1 -> 2 -> 3 -> 4 whose test history was cut to 3 items (so it is rebuilt from train)."
    d = tmp_path / "us"; d.mkdir(exist_ok=True)
    (d / "S.train.inter").write_text(H + "0\t0\t1\n0\t0 1\t2\n")
    (d / "S.valid.inter").write_text(H + "0\t0 1 2\t3\n")
    (d / "S.test.inter").write_text(H + test_row + "\n")
    (d / "S.item2index").write_text("".join(f"A{i}\t{i}\n" for i in range(n_index)))
    return d


def test_unisrec_test_row_history_is_verified(tmp_path):
    raw = read_unisrec(_unisrec(tmp_path))
    assert raw.interactions.item.tolist() == ["A0", "A1", "A2", "A3", "A4"]
    assert "every train, valid and test row checked" in raw.split
    with pytest.raises(DataError, match=r"test row of user 0 \(\['2', '1', '3'\] -> 4\) does not match"):
        read_unisrec(_unisrec(tmp_path, "0\t2 1 3\t4"))


def test_unisrec_feature_width_is_declared_or_inferred_exactly(tmp_path):
    d = _unisrec(tmp_path)
    np.arange(10 * 512, dtype=np.float32).tofile(d / "S.feat1CLS")            # twice the rows of 512
    with pytest.raises(DataError, match=r"S\.feat1CLS: declared dimension 512 needs 10,240 bytes for 5 items; "
                                        r"the file has 20,480 \(1024 values per item = 10 rows of 512\)"):
        read_unisrec(d, feature_dims={"feat1CLS": 512})
    raw = read_unisrec(d)                                  # undeclared: inferred, and meta.json says so
    assert raw.info["feature_dims"] == {"feat1CLS": {"dim": 1024, "from": "inferred: bytes / 4 / items"}}
    np.zeros(5 * 3 + 1, np.float32).tofile(d / "S.feat1CLS")
    with pytest.raises(DataError, match=r"S\.feat1CLS: 64 bytes is not 5 rows of float32"):
        read_unisrec(d)
    np.zeros((5, 8), np.float32).tofile(d / "S.feat1CLS")
    ds = build(read_unisrec(d, feature_dims=8), NO_FILTERS)
    assert ds.features["feat1CLS"].shape == (6, 8)


def test_unisrec_empty_feature_file_is_an_error(tmp_path):
    d = _unisrec(tmp_path); (d / "S.feat3CLS").write_bytes(b"")
    with pytest.raises(DataError, match=r"S\.feat3CLS: empty feature file: expected 5 rows of float32"):
        read_unisrec(d)


def test_unisrec_nan_feature_rows_are_an_error(tmp_path):
    d = _unisrec(tmp_path)
    m = np.ones((5, 4), np.float32); m[1, 0] = np.nan; m[4, 3] = np.inf; m.tofile(d / "S.feat1CLS")
    with pytest.raises(DataError, match=r"S\.feat1CLS: 2 of 5 rows hold NaN or infinite values "
                                        r"\(item indices \[1, 4\]\)"):
        read_unisrec(d)


@pytest.mark.parametrize("index, msg", [
    ("A0\t0\nA1\tone\n", r"S\.item2index:2: expected `ASIN<TAB>index` with a non-negative integer index"),
    ("", r"S\.item2index: empty file"),
    ("A0\t0\nA1\t1\nA2\t1\n", r"S\.item2index:3: index 1 is given twice: line 2 and line 3"),
    ("A0\t0\nA0\t1\n", r"S\.item2index:2: ASIN 'A0' is given twice: line 1 and line 2"),
    ("A0\t0\nA1\t2\n", r"S\.item2index: indices are not 0\.\.1: 1 is missing"),
    ("".join(f"A{i}\t{i}\n" for i in range(4)), r"S\.test\.inter:2: item '4' is not in S\.item2index")],
    ids=["non-numeric", "empty", "index-twice", "asin-twice", "gap", "target-missing"])
def test_unisrec_bad_item2index_is_an_error(tmp_path, index, msg):
    d = _unisrec(tmp_path); (d / "S.item2index").write_text(index)
    with pytest.raises(DataError, match=msg):
        read_unisrec(d)


# -- atomic folders (section 6) ----------------------------------------------------------------
_WRITER = """
import sys, time
from pathlib import Path
from msm4sr.core import atomic_dir
final, me, go, keep = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "1"
ad = atomic_dir(final, keep_existing=keep)
with ad as d:
    (d / "who").write_text(me); (d / "part").write_bytes(b"x" * 1000)
    Path(str(go) + "." + me).touch()                       # ready
    while not go.exists(): time.sleep(0.0005)              # then both leave the block at once
print("won" if ad.won else "lost")
"""


@pytest.mark.parametrize("keep", [True, False], ids=["keep_existing", "replace"])
def test_atomic_dir_two_processes_finishing_together(tmp_path, keep):
    "Both writers end without error; with keep_existing exactly one wins and the folder is its result."
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for r in range(20):
        final, go = tmp_path / f"cache{r}", tmp_path / f"go{r}"
        args = [str(final), None, str(go), "1" if keep else "0"]
        procs = [subprocess.Popen([sys.executable, "-c", _WRITER, *args[:1], me, *args[2:]], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for me in "AB"]
        t0 = time.time()
        while not all(Path(f"{go}.{me}").exists() for me in "AB"):
            alive = all(p.poll() is None for p in procs)
            assert time.time() - t0 < 60 and alive, [p.communicate() for p in procs]
            time.sleep(0.005)
        go.touch()
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        said = {me: o.strip() for me, (o, _) in zip("AB", outs)}
        if keep:
            assert sorted(said.values()) == ["lost", "won"], said
            assert (final / "who").read_text() == next(me for me, s in said.items() if s == "won")
        else:
            assert set(said.values()) == {"won"} and (final / "who").read_text() in "AB"
        assert sorted(p.name for p in final.iterdir()) == ["part", "who"]
        assert [p.name for p in tmp_path.glob(f".cache{r}.*")] == []   # no temporary or old folder left


def test_atomic_dir_cleans_leftovers_of_dead_processes_only(tmp_path):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    stale = [f".ds.tmp-{dead}", f".ds.old-{dead}-0a1b2c3d", f".other.tmp-{dead}", f".meta.json.tmp-{dead}"]
    live = f".ds.tmp-{os.getppid()}"
    for n in stale[:3] + [live]:
        (tmp_path / n).mkdir(); (tmp_path / n / "half").write_text("x")
    (tmp_path / stale[3]).write_text("{")                   # a file of write_atomic
    (tmp_path / "keep.tmp-1").mkdir()                       # not our pattern (no leading dot)
    with atomic_dir(tmp_path / "ds") as d: (d / "a").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live, "ds", "keep.tmp-1"])
    assert clean_leftovers(tmp_path) == []

