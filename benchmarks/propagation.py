"""Edge-weighted message passing, forward + backward, as GRCN does it every step: gathering both ends and
`index_add` (the references' way), `torch.sparse.mm` on COO with a gradient to the edge weights, and the
library's `weighted_sum` over `Edges` (a CSR product whose backward is the transpose's product and a sampled
product); per-edge dot products (GRCN's affinities) gathered against `Edges.dots` (`torch.sparse.sampled_addmm`).
Random graph of the given size; defaults: GRCN's graph on office2014 (7,327 nodes, 86,896 directed edges, 64-d).
The ways of each operation are checked to give the same values and gradients first.

    python benchmarks/propagation.py                      # office2014's size, 1 thread
    python benchmarks/propagation.py --nodes 5966 --edges 27526 --threads 1   # scientific2018's

Measures, never asserts a time.
"""
from __future__ import annotations
import argparse, time, warnings


def timed(f, reps: int) -> float:
    "Mean milliseconds of `f()` over `reps` calls after one warm-up call."
    f()
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=7327)
    ap.add_argument("--edges", type=int, default=86896)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore", message="Sparse")  # CSR support is 'beta': said once, not per call
    g = torch.Generator().manual_seed(0)
    n, e, d = a.nodes, a.edges, a.dim
    from msm4sr.baselines.graph import Edges, weighted_sum

    key = torch.unique(torch.randint(n, (e,), generator=g) * n + torch.randint(n, (e,), generator=g))
    dst, src = key // n, key % n  # distinct edges, by target: the order `Edges` wants
    e = len(key)
    edges = Edges(dst, src, n, n)
    x = torch.randn(n, d, generator=g).requires_grad_()
    w = torch.rand(e, generator=g).requires_grad_()

    def gather_hop():
        return torch.zeros(n, d).index_add(0, dst, w[:, None] * x[src])

    def sparse_hop():
        a_ = torch.sparse_coo_tensor(torch.stack([dst, src]), w, (n, n), check_invariants=False)
        return torch.sparse.mm(a_, x)

    def csr_hop():
        return weighted_sum(w, x, edges)

    def gather_dots():
        return (x[dst] * x[src]).sum(-1)

    def sampled_dots():
        return edges.dots(x, x)

    rows = []
    for what, pair in (("weighted hop", (gather_hop, sparse_hop, csr_hop)), ("edge dot products", (gather_dots, sampled_dots))):
        outs = []
        for f in pair:
            x.grad = w.grad = None
            f().sum().backward()
            outs.append([f().detach(), x.grad.clone()] + ([w.grad.to_dense()] if w.grad is not None else []))
        if not all(torch.allclose(u, v, atol=1e-4) for o in outs[1:] for u, v in zip(outs[0], o)):
            raise SystemExit(f"{what}: the two ways disagree (values or gradients)")
        for f in pair:
            rows.append((what, f.__name__, timed(lambda: f().sum().backward(), a.reps)))
    print(f"{n:,} nodes, {e:,} edges, {d}-d, {a.threads} thread(s), torch {torch.__version__}; forward + backward")
    print("\n| operation | way | ms / call |\n|---|---|---|")
    for what, name, ms in rows:
        print(f"| {what} | {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
