"Readers and Table I on the real Amazon datasets in $MSM4SR_REAL_DATA (skipped when unset)."
import numpy as np
import pandas as pd
import pytest
from msm4sr.dataset import NO_FILTERS, Filters
from msm4sr.registry import load_dataset
from msm4sr.reports import table1

# users / items / interactions as distributed (before any filter), from shared/data/README.md
EXPECTED = {"giftcards2018": (458, 148, 2972), "office2014": (4905, 2420, 53258),
            "scientific2018": (2928, 1585, 19712), "pantry2018": (12608, 4926, 109007)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_as_distributed(real_data, monkeypatch, name):
    monkeypatch.setenv("MSM4SR_REAL_DATA", str(real_data))
    ds = load_dataset(name, NO_FILTERS, verbose=False)
    assert (ds.n_users, ds.n_items, ds.n_interactions) == EXPECTED[name]
    # every user's sequence is chronological
    ts = ds.interactions
    assert (ts.groupby("user")["timestamp"].diff().dropna() >= 0).all()


@pytest.mark.parametrize("name", sorted(EXPECTED))
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
