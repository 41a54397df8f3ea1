"""scikit-learn's side of reeldb's clustering benchmark: runs one method on the data the Rust
bench binary wrote and prints one JSON line.

    python3 benches/cluster_sklearn.py --data FILE --rows N --dim D \
        --method {dbscan,hdbscan,kmeans,tsne} [--eps E] [--min-samples M] \
        [--min-cluster-size C] [--k K] [--seed S] [--perplexity P] \
        [--metric euclidean|cosine] --labels-out FILE

FILE holds N*D little-endian float32 values, row after row. The method runs with
scikit-learn's defaults except for the options given:
    dbscan   DBSCAN(eps=E, min_samples=M, metric=...)           (default algorithm, 'auto')
    hdbscan  HDBSCAN(min_cluster_size=C, min_samples=M, metric=...) (M absent: None)
    kmeans   KMeans(n_clusters=K, n_init=1, random_state=S, algorithm='lloyd')  (euclidean)
    tsne     TSNE(perplexity=P, init='pca', random_state=S, metric=...)
Options left out get scikit-learn's defaults (eps 0.5, min_samples 5, min_cluster_size 5,
n_clusters 8, perplexity 30, seed 0).

Only the fit is timed (time.perf_counter), including any conversion scikit-learn makes inside
fit (DBSCAN and HDBSCAN work in float64). --labels-out gets the labels as raw little-endian
int64 (-1 = noise), or for tsne the N x 2 embedding as raw little-endian float32.
Stdout gets one JSON line:
    {"method", "rows", "dim", "metric", "params", "seconds", "sklearn", "threads",
     "clusters", "noise"}      (clusters and noise for the clustering methods only;
                                kmeans adds "iterations")
"threads" is threadpoolctl's view of the native thread pools ({"openmp": 16, ...}), or
os.cpu_count() where threadpoolctl is missing.

Needs `pip install -r benches/requirements.txt` (scikit-learn 1.7.2, numpy).
"""

import argparse
import json
import os
import sys
import time

METHODS = ("dbscan", "hdbscan", "kmeans", "tsne")


def fail(message):
    print(f"cluster_sklearn.py: {message}", file=sys.stderr)
    sys.exit(2)


try:
    import numpy as np
    import sklearn
    from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
    from sklearn.manifold import TSNE
except ImportError as err:
    fail(f"{err}; the clustering benchmark needs scikit-learn and numpy: "
         "pip install -r benches/requirements.txt")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="raw little-endian float32, N x D")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--method", choices=METHODS, required=True)
    parser.add_argument("--eps", type=float, default=0.5)
    parser.add_argument("--min-samples", type=int, default=None)
    parser.add_argument("--min-cluster-size", type=int, default=5)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument("--metric", choices=("euclidean", "cosine"), default="euclidean")
    parser.add_argument("--labels-out", required=True)
    args = parser.parse_args()
    if args.rows <= 0 or args.dim <= 0:
        fail("--rows and --dim must be positive")
    if args.method == "kmeans" and args.metric != "euclidean":
        fail("kmeans is euclidean only in scikit-learn")
    return args


def load(args):
    expected = args.rows * args.dim * 4
    try:
        size = os.path.getsize(args.data)
    except OSError as err:
        fail(f"cannot read --data: {err}")
    if size != expected:
        fail(f"{args.data} has {size} bytes, but {args.rows} rows x {args.dim} float32 "
             f"need {expected}")
    return np.fromfile(args.data, dtype="<f4").reshape(args.rows, args.dim)


def make_model(args):
    if args.method == "dbscan":
        params = {"eps": args.eps,
                  "min_samples": 5 if args.min_samples is None else args.min_samples,
                  "metric": args.metric}
        return DBSCAN(**params), params
    if args.method == "hdbscan":
        params = {"min_cluster_size": args.min_cluster_size, "min_samples": args.min_samples,
                  "metric": args.metric}
        return HDBSCAN(**params), params
    if args.method == "kmeans":
        params = {"n_clusters": args.k, "n_init": 1, "random_state": args.seed,
                  "algorithm": "lloyd"}
        return KMeans(**params), params
    params = {"perplexity": args.perplexity, "init": "pca", "random_state": args.seed,
              "metric": args.metric}
    return TSNE(**params), params


def thread_summary():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count()
    summary = {}
    for pool in threadpool_info():
        name = pool.get("internal_api") or pool.get("user_api") or "unknown"
        summary[name] = max(summary.get(name, 0), int(pool.get("num_threads", 0)))
    return summary or os.cpu_count()


def main():
    args = parse_args()
    X = load(args)
    model, params = make_model(args)

    started = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - started

    out = {"method": args.method, "rows": args.rows, "dim": args.dim, "metric": args.metric,
           "params": params, "seconds": seconds, "sklearn": sklearn.__version__,
           "threads": thread_summary()}
    if args.method == "tsne":
        np.ascontiguousarray(model.embedding_, dtype="<f4").tofile(args.labels_out)
    else:
        labels = np.ascontiguousarray(model.labels_, dtype="<i8")
        labels.tofile(args.labels_out)
        out["clusters"] = int(len(np.unique(labels[labels >= 0])))
        out["noise"] = int((labels == -1).sum())
        if args.method == "kmeans":
            out["iterations"] = int(model.n_iter_)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
