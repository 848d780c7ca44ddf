"""How cost grows: MSM4SR (ours) seconds per pre-training and fine-tuning epoch vs number of interactions,
and full-ranking evaluation time vs number of items, over several scales of the synthetic Office data.

    python benchmarks/scaling.py                                   # CPU: 0.01, 0.03, 0.1 of Office
    python benchmarks/scaling.py --device cuda --scales 0.1 0.3 1

Runs benchmarks/training.py (ours only) per scale; writes scaling-<device>.png and .json (into $OUT when set).
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.03, 0.1])
    ap.add_argument("--device", default="cpu"); ap.add_argument("--stages", default="pretrain,finetune,eval")
    ap.add_argument("--plot-only", action="store_true", help="redraw the PNG from the JSON of an earlier run")
    a = ap.parse_args()
    outdir = Path(os.environ["OUT"]) if os.environ.get("OUT") else HERE / "results"
    tag = a.device.split(":")[0]
    points = json.loads((outdir / f"scaling-{tag}.json").read_text()) if a.plot_only else []
    for s in ([] if a.plot_only else a.scales):
        f = outdir / f"scaling-{tag}-x{s:g}.json"
        subprocess.run([sys.executable, str(HERE / "training.py"), "--scale", str(s), "--device", a.device,
                        "--impls", "ours", "--stages", a.stages, "--out", str(f)], check=True)
        r = json.loads(f.read_text())
        sys.path.insert(0, str(HERE)); import synthetic
        ds, _ = synthetic.make(s, features=False)
        for x in r["results"]:
            points.append({"scale": s, "interactions": ds.n_interactions, "items": ds.n_items, **x, "gpu": r["gpu"]})
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for stage, mark in (("pretrain", "o-"), ("finetune", "s-")):
        p = [x for x in points if x["stage"] == stage]
        ax1.plot([x["interactions"] for x in p], [x["seconds_per_epoch"] for x in p], mark, label=stage)
    x0 = min(x["interactions"] for x in points); y0 = min(x["seconds_per_epoch"] for x in points if x["stage"] == "pretrain")
    xs = [x0, max(x["interactions"] for x in points)]
    ax1.plot(xs, [y0, y0 * xs[1] / xs[0]], ":", color="grey", label="∝ interactions")
    ax1.set(xscale="log", yscale="log", xlabel="interactions", ylabel="seconds per epoch", title="training epoch")
    ax1.legend()
    p = [x for x in points if x["stage"] == "eval"]
    ax2.plot([x["items"] for x in p], [x["seconds_per_epoch"] for x in p], "d-", color="C2")
    ax2.set(xscale="log", yscale="log", xlabel="items (users grow with them)", ylabel="seconds",
            title="full-ranking evaluation of every test user")
    from matplotlib.ticker import NullFormatter
    for ax in (ax1, ax2): ax.xaxis.set_minor_formatter(NullFormatter()); ax.yaxis.set_minor_formatter(NullFormatter())
    dev = points[0]["gpu"] or "CPU"
    fig.suptitle(f"MSM4SR cost vs scale of the Office statistics ({dev})"); fig.tight_layout()
    png = HERE / f"scaling-{tag}.png" if not os.environ.get("OUT") else outdir / f"scaling-{tag}.png"
    fig.savefig(png, dpi=120)
    (outdir / f"scaling-{tag}.json").write_text(json.dumps(points, indent=1) + "\n")
    print("wrote", png)


if __name__ == "__main__":
    main()
