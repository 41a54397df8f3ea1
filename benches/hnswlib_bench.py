"""hnswlib on the data `reeldb-bench ann --hnswlib` wrote, printing the same JSON lines.

python3 hnswlib_bench.py --base B.npy --query Q.npy --truth T.npy --metric l2 --name NAME \
    --m 16 --ef-construction 200 --ef 16,32,64 --threads 1,2

Needs `pip install hnswlib numpy` (benches/README.md).
"""

import argparse
import json
import time

import hnswlib
import numpy as np

K = 10


def main():
    parser = argparse.ArgumentParser()
    for name in ("--base", "--query", "--truth", "--metric", "--name", "--ef", "--threads"):
        parser.add_argument(name, required=True)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--build-threads", type=int, default=-1)
    args = parser.parse_args()

    base = np.load(args.base).astype(np.float32)
    queries = np.load(args.query).astype(np.float32)
    truth = np.load(args.truth)[:, :K]
    space = {"l2": "l2", "cosine": "cosine", "dot": "ip"}[args.metric]
    common = {"bench": "ann", "dataset": args.name, "rows": len(base), "dim": base.shape[1],
              "queries": len(queries), "metric": args.metric, "k": K, "engine": "hnswlib",
              "m": args.m, "ef_construction": args.ef_construction}

    index = hnswlib.Index(space=space, dim=base.shape[1])
    started = time.perf_counter()
    index.init_index(max_elements=len(base), M=args.m, ef_construction=args.ef_construction,
                     random_seed=100)
    index.add_items(base, np.arange(len(base)), num_threads=args.build_threads)
    build_s = time.perf_counter() - started
    print(json.dumps({**common, "phase": "build", "build_s": build_s,
                      "threads": args.build_threads}), flush=True)

    for threads in (int(t) for t in args.threads.split(",")):
        for ef in (int(e) for e in args.ef.split(",")):
            index.set_ef(max(ef, K))
            index.knn_query(queries, k=K, num_threads=threads)  # warm up
            started = time.perf_counter()
            labels, _ = index.knn_query(queries, k=K, num_threads=threads)
            seconds = time.perf_counter() - started
            hits = sum(len(set(found) & set(expected)) for found, expected in zip(labels, truth))
            print(json.dumps({**common, "ef_search": ef, "threads": threads, "build_s": build_s,
                              "qps": len(queries) / seconds,
                              "recall_at_10": hits / (len(queries) * K)}), flush=True)


if __name__ == "__main__":
    main()
