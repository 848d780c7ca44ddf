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
    assert sorted(raw.interactions.user.unique()) == ["U0", "U1"]
    assert set(raw.interactions.item) == {"A0", "A1", "A2", "A3"}
    (d / "S.item2index").write_text((d / "S.item2id").read_text())       # both names, the same map: noted
    raw = read_unisrec(d)
    assert raw.info["not_read"] == {"S.item2id": "the same map as S.item2index"}
    assert [p.name for p in raw.sources].count("S.item2index") == 1
    (d / "S.item2id").write_text("A0\t0\nA1\t1\nA9\t2\nA3\t3\n")          # both names, different maps: error
    with pytest.raises(DataError, match=r"S\.item2index and S\.item2id give index 2 different ASINs "
                                        r"\('A2', 'A9'\); keep one"):
        read_unisrec(d)


# -- LC-Rec / MACRec *.inter.json; a folder of no known format -------------------------------------------
def _lcrec(d: Path) -> Path:
    "As LC-Rec's amazon18_data_process.py writes it: indices in the JSON, ASINs and reviewer ids in the maps."
    d.mkdir()
    seqs = {u: [(u + k) % 8 for k in range(5 + u % 3)] for u in range(6)}
    (d / "Instruments.inter.json").write_text(json.dumps(seqs, indent=4))
    (d / "Instruments.item2id").write_text("".join(f"B00ITEM{i:03d}\t{i}\n" for i in range(8)))
    (d / "Instruments.user2id").write_text("".join(f"AUSER{u}\t{u}\n" for u in range(6)))
    items = {str(i): {"title": f"Guitar string set {i}", "description": f"Bright tone. Lasts {i} months.",
                      "brand": "Acme", "categories": "Musical Instruments,Guitars"} for i in range(8)}
    (d / "Instruments.item.json").write_text(json.dumps(items, indent=4))
    (d / "Instruments.index.json").write_text(json.dumps({str(i): ["<a_1>", "<b_2>"] for i in range(8)}))
    return d


def test_lcrec_inter_json_is_read_with_its_maps_and_texts(tmp_path):
    d = _lcrec(tmp_path / "Instruments")
    ds = load_dataset(str(d), verbose=False)
    assert ds.meta["format"] == "lcrec" and ds.meta["filters"] == NO_FILTERS.to_dict()
    assert (ds.n_users, ds.n_items, ds.n_interactions) == (6, 8, 36)
    first = ds.interactions[ds.interactions.user == 1]["item"].map(dict(zip(ds.items.item, ds.items.source_id)))
    assert ds.users.source_id[0] == "AUSER0" and first.tolist() == [f"B00ITEM{i:03d}" for i in range(5)]
    text = dict(zip(ds.items.source_id, ds.items.sentences))["B00ITEM003"]
    assert text == ["Guitar string set 3", "Bright tone.", "Lasts 3 months."]
    info = ds.meta["info"]
    assert info["modalities"] == ["text"] and info["item_fields_not_used"] == ["brand", "categories"]
    assert info["not_read"] == {"Instruments.index.json": "not part of the LC-Rec layout read here"}


def test_lcrec_json_error_names_file_and_line(tmp_path):
    d = _lcrec(tmp_path / "I")
    (d / "Instruments.inter.json").write_text('{\n  "0": [1, 2],\n  "1": [3 4]\n}')
    with pytest.raises(DataError, match=r"Instruments\.inter\.json:3: not JSON: Expecting ',' delimiter"):
        load_dataset(str(d), verbose=False)


def test_folder_of_no_known_format_lists_the_formats(tmp_path):
    d = tmp_path / "mine"; d.mkdir()
    (d / "interactions.json").write_text('{"0": [1, 2, 3]}')
    with pytest.raises(DataError) as e:
        load_dataset(str(d), verbose=False)
    msg = str(e.value)
    for expected in ("the folder has interactions.json", "<Category>_5.json[.gz] reviews", "<name>.inter;",
                     "<name>.train.inter", "<Name>_item2attributes.json", "<name>.inter.json"):
        assert expected in msg, msg
    assert "\n" not in msg


def test_amazon_reviews_without_a_usable_line_say_why(tmp_path):
    from msm4sr.amazon import read_amazon2018
    d = tmp_path / "amz"; d.mkdir()
    (d / "Toy_5.json").write_text('{"reviewerID": "A", "asin": "B"}\n')
    (d / "meta_Toy.json").write_text('{"asin": "B", "title": "x"}\n')
    with pytest.raises(DataError, match=r"Toy_5\.json: no usable review lines \(reviews_missing_fields: 1; first: "
                                        r"Toy_5\.json:1 \(missing unixReviewTime/reviewTime\)\)"):
        read_amazon2018(d)


# -- RecBole: a text column in .item; a knowledge-graph .link -------------------------------------------------
def _recbole(d: Path, link=None, item=None, text=None) -> Path:
    d.mkdir()
    (d / "R.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                               + "".join(f"u{u}\t{i}\t{1_400_000_000 + 86400 * k}\n"
                                         for u in range(3) for k, i in enumerate(range(u, u + 5))))
    for ext, body in (("link", link), ("item", item), ("text", text)):
        if body is not None:
            (d / f"R.{ext}").write_text(body)
    return d


def test_recbole_item_title_becomes_text_or_is_named_as_unused(tmp_path):
    item = "item_id:token\ttitle:token_seq\tbrand:token\n" + "".join(f"{i}\tPen {i}\tAcme\n" for i in range(7))
    ds = load_dataset(str(_recbole(tmp_path / "a", item=item)), verbose=False)
    assert ds.items.sentences.map(len).min() == 1 and ds.meta["info"]["item_text"] == "columns ['title'] of R.item"
    text = "item_id:token\ttext:token_seq\n" + "".join(f"{i}\tA pen.\n" for i in range(7))
    ds = load_dataset(str(_recbole(tmp_path / "b", item=item, text=text)), verbose=False)
    assert ds.meta["info"]["item_text"] == "R.text" and "title" in ds.meta["info"]["item_text_fields_not_used"]
    assert ds.meta["problems"]["item_text_fields_not_used (R.text gives the text)"]["examples"] == ["title"]


def test_recbole_knowledge_graph_link_is_not_an_asin_map(tmp_path):
    link = "item_id:token\tentity_id:token\n" + "".join(f"{i}\tm.0x{i}y\n" for i in range(7))
    ds = load_dataset(str(_recbole(tmp_path / "kg", link=link)), verbose=False)
    assert sorted(ds.items.source_id) == [str(i) for i in range(7)]      # items keep their ids
    assert ds.meta["info"]["not_read"]["R.link"].startswith("a knowledge-graph link (7 of 7 values are entity ids")
    assert ds.meta["problems"]["link_file_not_used (see info.not_read)"]["count"] == 1


def test_reader_options_reach_the_reader_through_load_dataset(tmp_path):
    item = "item_id:token\tname:token_seq\n" + "".join(f"{i}\tPen {i}\n" for i in range(7))
    d = _recbole(tmp_path / "r", item=item)
    assert load_dataset(str(d), verbose=False).meta["info"]["modalities"] == []
    ds = load_dataset(str(d), verbose=False, reader={"text_fields": ["name"]})
    assert ds.meta["info"]["modalities"] == ["text"] and ds.items.sentences[0] == ["Pen 0"]


# -- ties, what the timestamps are, what a run used -------------------------------------------------------------
def test_ties_are_counted_and_positions_are_not_called_unix_seconds(tmp_path):
    d = tmp_path / "days"; d.mkdir()
    rows = [("u0", i, "2015-06-23" if i < 3 else "2015-06-24") for i in range(6)]
    rows += [("u1", i, "2015-07-01") for i in range(5)]
    (d / "D.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                               + "".join(f"{u}\t{i}\t{t}\n" for u, i, t in rows))
    ds = load_dataset(str(d), verbose=False)
    assert ds.meta["ties"] == {"rows": 11, "of": 11, "groups": 3,
                               "ordered_by": "file order (position in the source file), as the stable sort keeps it"}
    assert ds.meta["problems"]["interactions_tied_on_user_and_timestamp (kept in file order)"]["count"] == 11
    assert ds.meta["timestamp"] == "day (unix seconds of the date)"
    p = tmp_path / "pos"; p.mkdir()
    (p / "P.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n"
                               + "".join(f"u{u}\t{i}\t{k}\n" for u in range(2) for k, i in enumerate(range(5))))
    ds = load_dataset(str(p), verbose=False)
    assert ds.meta["timestamp"] == "numbers as given (0 to 4: no unix time; their order is used)"
    assert ds.meta["ties"]["rows"] == 0


def test_an_id_only_run_says_it_used_no_modality(tmp_path):
    import contextlib, io
    from msm4sr.cli import main
    from msm4sr.experiments import modalities_used
    d = tmp_path / "Idonly"; d.mkdir()
    (d / "Idonly.txt").write_text("".join(f"{u} " + " ".join(str((u + k) % 9 + 1) for k in range(6)) + "\n"
                                          for u in range(1, 21)))
    (d / "Idonly_item2attributes.json").write_text(json.dumps({str(i): [1] for i in range(1, 10)}))
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["train", str(d), "--model", "sasrec", "--epochs", "1", "--out", str(tmp_path / "m.json")]) == 0
    out = json.loads((tmp_path / "m.json").read_text())
    assert out["modalities"] == [] and "modalities" not in out["config"]
    assert modalities_used("SASRec", {"text": 1}) == [] and modalities_used("Popularity", {}) == []
    assert modalities_used("MSM4SR", {"text": 1}) == ["text"] and modalities_used("MSM4SR-V", {"text": 1}) == []
