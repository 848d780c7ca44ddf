"Readers and Table I on the real Amazon datasets in $MSM4SR_REAL_DATA (skipped when unset)."
import gzip, json
import numpy as np
import pandas as pd
import pytest
from msm4sr.dataset import NO_FILTERS, Filters
from msm4sr.registry import load_dataset
from msm4sr.reports import table1

# users / items / interactions as distributed (before any filter), from shared/data/README.md; office2018 and
# scientific2018full: whole sequences (their test rows keep only the last 50 history items: 680,304 and 59,384;
# every user has one training row per prefix, so scientific2018full holds 34,101 + 3 x 8,442 = 59,427)
EXPECTED = {"giftcards2018": (458, 148, 2972), "office2014": (4905, 2420, 53258),
            "scientific2018": (2928, 1585, 19712), "pantry2018": (12608, 4926, 109007),
            "beauty2014": (22363, 12101, 198502), "toys2014": (19412, 11924, 167597),
            "office2018": (87346, 25986, 680476), "scientific2018full": (8442, 4385, 59427)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_as_distributed(real_data, monkeypatch, name):
    monkeypatch.setenv("MSM4SR_REAL_DATA", str(real_data))
    ds = load_dataset(name, NO_FILTERS, verbose=False)
    assert (ds.n_users, ds.n_items, ds.n_interactions) == EXPECTED[name]
    # every user's sequence is chronological
    ts = ds.interactions
    assert (ts.groupby("user")["timestamp"].diff().dropna() >= 0).all()


# office2018 (680k rows, 35 s) reads like scientific2018full with the same reader: its filter check is slow-only
FILTERED = [pytest.param(n, marks=pytest.mark.slow) if n == "office2018" else n for n in sorted(EXPECTED)]


@pytest.mark.parametrize("name", FILTERED)
def test_paper_filters(real_data, name):
    raw = load_dataset(name, NO_FILTERS, verbose=False)
    ds = load_dataset(name, Filters(), verbose=False)
    assert ds.stats()["min_n"] >= 5 and ds.n_users <= raw.n_users
    # what the filters removed is accounted for in meta.json, nothing silently
    removed = ds.meta["problems"].get("interactions_removed_by_filter", {"count": 0})["count"]
    dup = ds.meta["problems"].get("duplicate_user_item_removed (kept last)", {"count": 0})["count"]
    assert raw.n_interactions - ds.n_interactions == removed + dup
    t = table1(raw, ds)
    assert t["interactions"].tolist() == [raw.n_interactions, ds.n_interactions]


def test_giftcards_content(real_data):
    ds = load_dataset("giftcards2018", verbose=False)
    items = ds.items
    assert items["image_paths"].map(len).gt(0).sum() == 115          # the real product photos
    assert items["sentences"].map(len).between(1, 10).all()          # every gift card has a title
    assert items["image_urls"].map(len).le(10).all()
    assert ds.meta["source_files"]["meta_Gift_Cards.json.gz"]["sha256"]


def test_office2014_text_via_link(real_data):
    ds = load_dataset("office2014", verbose=False)
    it = ds.items.set_index("source_id")
    assert it.index.str.match(r"^[0-9A-Z]{10}$").all()              # ASINs through Office.link
    assert it.loc["B00000JBLU", "sentences"][0].startswith("Texas Instruments TI-1795 SV")
    assert ds.meta["timestamp"] == "unix seconds"


def test_pantry2018_dates(real_data):
    ds = load_dataset("pantry2018", verbose=False)
    assert ds.meta["timestamp"].startswith("day")
    assert (ds.interactions["timestamp"] % 86400 == 0).all()


def test_scientific_keeps_given_split(real_data):
    "Our leave-one-out test samples are exactly the rows of Scientific.test.inter (mapped to our ids)."
    ds = load_dataset("scientific2018", verbose=False)
    assert ds.meta["filters"] == NO_FILTERS.to_dict() and "given" in ds.meta["split"]
    folder = real_data / "scientific2018"
    idx = pd.read_csv(folder / "Scientific.item2index", sep="\t", header=None, names=["asin", "i"], dtype=str)
    to_asin = dict(zip(idx["i"], idx["asin"]))
    uidx = pd.read_csv(folder / "Scientific.user2index", sep="\t", header=None, names=["uid", "i"], dtype=str)
    to_uid = dict(zip(uidx["i"], uidx["uid"]))
    given = pd.read_csv(folder / "Scientific.test.inter", sep="\t", dtype=str)
    want = {(to_uid[u], tuple(to_asin[i] for i in h.split()), to_asin[y])
            for u, h, y in zip(given.iloc[:, 0], given.iloc[:, 1], given.iloc[:, 2])}
    src = ds.items["source_id"].to_numpy(); uid = ds.users["source_id"].to_numpy()
    s = ds.split()["test"]
    got = {(uid[u - 1], tuple(src[i - 1] for i in h[:n]), src[y - 1])
           for u, h, n, y in zip(s.user, s.history, s.length, s.target)}
    assert got == want
    f = ds.features["feat3CLS"]
    assert f.shape == (ds.n_items + 1, 512) and np.all(f[0] == 0) and np.abs(f[1:]).sum(1).min() > 0


# S³-Rec format: file stem and the number of distinct attribute values (shared/data/README.md)
S3REC = {"beauty2014": ("Beauty", 637), "toys2014": ("Toys_and_Games", 1027)}


@pytest.mark.parametrize("name", sorted(S3REC))
def test_s3rec_sequences_and_attributes_as_distributed(real_data, name):
    """Every user's sequence is the file's line and every item's attributes are the JSON's ids (a repeated id
    once), both read back here through the ASIN and reviewerID maps."""
    stem, n_values = S3REC[name]
    ds = load_dataset(name, verbose=False)
    assert ds.meta["format"] == "s3rec" and ds.meta["filters"] == NO_FILTERS.to_dict()
    a = ds.attributes["attribute"]
    assert a.n_values == n_values == ds.meta["attributes"]["attribute"]["values"]
    folder = real_data / name
    read_map = lambda f: dict(pd.read_csv(folder / f, sep="\t", dtype=str).itertuples(index=False))
    to_asin, to_uid = read_map(f"{stem}.item2asin.tsv"), read_map(f"{stem}.user2reviewerID.tsv")
    given = json.loads((folder / f"{stem}_item2attributes.json").read_text())
    src, uid = ds.items["source_id"].to_numpy(), ds.users["source_id"].to_numpy()
    assert {s: a.tokens(i) for i, s in enumerate(src, 1)} == {
        to_asin[k]: list(dict.fromkeys(map(str, v))) for k, v in given.items()
    }
    lines = [line.split() for line in (folder / f"{stem}.txt").read_text().splitlines()]
    seqs = {uid[u - 1]: src[g["item"].to_numpy() - 1].tolist() for u, g in ds.interactions.groupby("user")}
    assert seqs == {to_uid[f[0]]: [to_asin[i] for i in f[1:]] for f in lines}


def test_beauty_and_toys_share_reviewers(real_data):
    "The reviewerID map is kept: 2,073 users are in both (shared/data/README.md)."
    b, t = (load_dataset(n, verbose=False) for n in ("beauty2014", "toys2014"))
    assert len(set(b.users["source_id"]) & set(t.users["source_id"])) == 2073


def test_giftcards_attributes_from_metadata(real_data):
    "Brand and the category levels below the top one, read again here from the metadata file line by line."
    ds = load_dataset("giftcards2018", NO_FILTERS, verbose=False)
    want = {}
    with gzip.open(real_data / "giftcards2018" / "meta_Gift_Cards.json.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            brand = [r["brand"]] if r.get("brand") else []
            want[r["asin"]] = {"category": list(dict.fromkeys(r.get("category", [])[1:])), "brand": brand}
    a = ds.attributes
    src = ds.items["source_id"]
    got = {s: {f: a[f].tokens(i) for f in ("category", "brand")} for i, s in enumerate(src, 1)}
    none = {"category": [], "brand": []}
    assert got == {s: want.get(s, none) for s in got}
    assert sum(bool(v["brand"]) for v in got.values()) == ds.meta["attributes"]["brand"]["items"] > 100


def test_user_overlap_of_real_pairs(real_data):
    """Table VI's join (`msm4sr.transfer.user_overlap`): beauty2014 and toys2014 share 2,073 reviewers; office2014's
    re-numbered user ids make its join with scientific2018 meaningless, which the overlap says."""
    from msm4sr.transfer import user_overlap
    ov = user_overlap(load_dataset("beauty2014", verbose=False), load_dataset("toys2014", verbose=False))
    assert ov.comparable and ov.shared == 2073
    assert (ov.table["source_id"].is_unique and ov.table["source_user"].between(1, 22363).all()
            and ov.table["target_user"].between(1, 19412).all())
    numbered = user_overlap(load_dataset("office2014", verbose=False), load_dataset("scientific2018", verbose=False))
    assert not numbered.comparable
