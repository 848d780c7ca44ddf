"""Issue 11: every registered model follows the contract — one short epoch of each of its stages on a toy
dataset, evaluation, checkpoint, rebuild from the checkpoint alone, identical metrics. A model is tested here
the moment it registers."""
from dataclasses import replace
import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn as nn
from fastcore.test import test_eq as eq
from msm4sr.contract import Batch, DataInfo, Recommender, NoConfig, registered
from msm4sr.dataset import ItemAttributes
from msm4sr.metrics import evaluate
from msm4sr.store import ModalityFeatures
from msm4sr.train import run_stage, fit, save_checkpoint, load_model, seed_everything
from msm4sr.config import Schedule

N_ITEMS, N_USERS = 30, 60


def toy_data():
    "Users walking +1 through the items (learnable), their leave-one-out splits, features and training graph."
    from types import SimpleNamespace
    rng = np.random.default_rng(0)
    L = rng.integers(4, 10, N_USERS); start = rng.integers(1, N_ITEMS, N_USERS)
    seqs = [(start[u] + np.arange(L[u]) - 1) % N_ITEMS + 1 for u in range(N_USERS)]
    def split(cut):
        rows = [(u + 1, s[:t][-10:], s[t]) for u, s in enumerate(seqs) for t in cut(len(s))]
        H = np.zeros((len(rows), 10), np.int64)
        for r, (_, h, _) in enumerate(rows): H[r, :len(h)] = h
        return SimpleNamespace(user=np.array([r[0] for r in rows]), history=H,
                               length=np.array([len(r[1]) for r in rows]), target=np.array([r[2] for r in rows]))
    splits = {"train": split(lambda n: range(1, n - 2)), "valid": split(lambda n: [n - 2]),
              "test": split(lambda n: [n - 1])}
    u, i = zip(*[(k + 1, x) for k, s in enumerate(seqs) for x in s[:-2]])
    graph = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(N_USERS + 1, N_ITEMS + 1))
    def feats(rows, d):
        c = rng.integers(1, rows + 1, N_ITEMS + 1); c[0] = 0
        return ModalityFeatures(rng.normal(size=(N_ITEMS + 1, rows, d)).astype(np.float32), c)
    cat = np.r_[0, np.arange(N_ITEMS) // 5 + 1][:, None]  # item attributes: runs of 5 items share a category
    attrs = {
        "category": ItemAttributes(cat, [""] + [f"c{k}" for k in range(6)]),
        "brand": ItemAttributes(np.r_[0, np.arange(N_ITEMS) % 3 + 1][:, None], ["", "b0", "b1", "b2"]),
    }
    return DataInfo(N_USERS, N_ITEMS, {"text": feats(3, 12), "image": feats(2, 8)}, graph, attrs), splits


def small(cls):
    "The model's config, shrunk where it has the fields (fast on two cores)."
    names = set(getattr(cls.Config, "__dataclass_fields__", {}))
    return cls.Config(**{k: v for k, v in dict(hidden=16, attn_dim=8, n_experts=2, inner=32, max_len=10).items()
                         if k in names})


@pytest.mark.parametrize("name", list(registered()))
def test_every_registered_model_trains_evaluates_and_reloads(name, tmp_path):
    cls = registered()[name]
    data, splits = toy_data()
    if "domains" in cls.needs:  # a cross-domain model: the toy data is its target, a second item set its source
        data = replace(data, domains={"source": DataInfo(N_USERS // 2, N_ITEMS // 2)})
    assert cls.stages[-1] == "train" and cls.title and cls.citation and cls.family
    seed_everything(0)
    model = cls(data, small(cls))
    for stage in cls.stages[:-1]:
        r = run_stage(model, splits["train"], replace(cls.schedule(stage), epochs=1, batch_size=64), stage,
                      progress=False)
        assert r.epochs_run == 1 and np.isfinite(r.loss).all()
    res = fit(model, splits, Schedule(epochs=1, batch_size=64, eval_batch_size=16), progress=False)
    assert 0 <= res.test["R@20"] <= 1 and len(res.ranks) == len(splits["test"].target)
    back = load_model(save_checkpoint(model, tmp_path / "ck"), data)
    eq(back.cfg, model.cfg)
    eq(evaluate(back, splits["test"], batch_size=16), res.test)
    eq(evaluate(back, splits["valid"], batch_size=16), res.valid)


def test_negatives_users_and_masking_reach_the_model():
    "A general model asking for negatives gets them in every batch, with the users; evaluation masks its history."
    data, splits = toy_data()
    seen = {}
    class BPRToy(Recommender):
        name, title, Config, n_negatives, mask_history = "bpr-toy", "BPRToy", NoConfig, 3, True
        def __init__(self, data, cfg=None):
            super().__init__(data, cfg); self.u = nn.Embedding(data.n_users + 1, 4); self.i = nn.Embedding(data.n_items + 1, 4)
        def scores(self, b, state=None):
            s = self.u(b.users) @ self.i.weight.T; s[:, 0] = float("-inf"); return s
        def loss(self, b, stage="train"):
            seen.update(neg=b.negatives.shape[1], users=b.users is not None and len(b.users) == len(b))
            assert ((b.negatives >= 1) & (b.negatives <= self.n_items)).all()
            pos, neg = (self.u(b.users) * self.i(b.target)).sum(-1), (self.u(b.users)[:, None] * self.i(b.negatives)).sum(-1)
            return {"loss": -torch.nn.functional.logsigmoid(pos[:, None] - neg).mean()}
    m = BPRToy(data)
    r = fit(m, splits, Schedule(epochs=1, batch_size=64), progress=False)
    eq(seen, {"neg": 3, "users": True})
    _, ranks = evaluate(m, splits["test"], return_ranks=True)
    b = Batch.of(splits["test"].history[:1], splits["test"].length[:1], users=splits["test"].user[:1])
    with torch.no_grad(): s = m.scores(b)[0]
    t = splits["test"].target[0]
    others = [i for i in range(1, N_ITEMS + 1) if i != t and i not in set(b.history[0].tolist())]
    eq(int(ranks[0]), 1 + sum(bool(s[i] >= s[t]) for i in others))     # history items ranked last


def test_general_models_train_on_every_training_pair_with_unseen_negatives():
    """trains_on='interactions': each epoch visits every distinct training pair once; negatives='unseen' never
    hands the model one of the user's training items."""
    data, splits = toy_data()
    seen = []

    class Pairs(Recommender):
        name, title, Config = "pairs-toy", "PairsToy", NoConfig
        trains_on, n_negatives, negatives, mask_history = "interactions", 2, "unseen", True

        def __init__(self, data, cfg=None):
            super().__init__(data, cfg)
            self.w = nn.Parameter(torch.zeros(data.n_items + 1))

        def scores(self, b, state=None):
            s = self.w.expand(len(b), -1).clone()
            s[:, 0] = float("-inf")
            return s

        def loss(self, b, stage="train"):
            seen.append((b.users.clone(), b.target.clone(), b.negatives.clone()))
            return {"loss": (self.w[b.negatives].mean(1) - self.w[b.target]).mean()}

    run_stage(Pairs(data), splits["train"], Schedule(epochs=2, batch_size=16), progress=False)
    g = data.train_graph.tocoo()
    pairs = sorted(zip(g.row.tolist(), g.col.tolist()))
    users, items, negs = (torch.cat(x) for x in zip(*seen))
    n = len(pairs)
    for e in range(2):  # both epochs: every pair once (the first item of each user included)
        eq(sorted(zip(users[e * n:(e + 1) * n].tolist(), items[e * n:(e + 1) * n].tolist())), pairs)
    dense = torch.tensor(data.train_graph.toarray() > 0)
    eq(int(dense[users[:, None], negs].sum()), 0)
    assert len(torch.unique(negs)) > N_ITEMS // 2  # and they do spread over the items


@pytest.mark.parametrize("name", [n for n, c in registered().items() if c.domain_params or c.transfer_frozen])
def test_declared_transfer_weights_move_between_domains(name, tmp_path):
    """A model that declares `domain_params` / `transfer_frozen` (Table VI): a checkpoint from a source with other
    item and user counts loads into the target exactly for the transferable weights, the target's domain weights
    stay as built, and a short fine-tuning leaves every frozen weight untouched."""
    from msm4sr.dataset import ItemAttributes as IA
    from msm4sr.transfer import feature_widths, freeze_for_transfer, load_transferable, save_source_checkpoint
    cls = registered()[name]
    data, splits = toy_data()
    n_src = 20  # source: 20 items, 50 users; target: the toy data's 30 items, 60 users
    src = DataInfo(N_USERS - 10, n_src, {m: ModalityFeatures(f.x[: n_src + 1], f.counts[: n_src + 1])
                                         for m, f in data.features.items()},
                   data.train_graph[: N_USERS - 9, : n_src + 1],
                   {k: IA(a.ids[: n_src + 1], a.vocab) for k, a in data.attributes.items()})
    seed_everything(0)
    source = cls(src, small(cls))
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.rand_like(p) + 0.5)  # recognisable values
    ck = save_source_checkpoint(source, tmp_path / "src", src)
    target = cls(data, small(cls))
    built = {k: v.clone() for k, v in target.state_dict().items()}
    rep = load_transferable(target, ck, feature_widths(data))
    assert rep.domain and rep.loaded and not rep.fresh and not rep.dropped
    got, want = target.state_dict(), source.state_dict()
    for k in rep.loaded:
        assert torch.equal(got[k], want[k]), k
    for k in rep.domain:
        assert torch.equal(got[k], built[k]), k
    counts = freeze_for_transfer(target)
    assert 0 < counts["trainable"] < counts["total"]
    frozen = {k: p.detach().clone() for k, p in target.named_parameters() if not p.requires_grad}
    run_stage(target, splits["train"], Schedule(epochs=1, batch_size=64, patience=None), progress=False)
    for k, p in target.named_parameters():
        if k in frozen:
            assert torch.equal(p.detach(), frozen[k]), k
