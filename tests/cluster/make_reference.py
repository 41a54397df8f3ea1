"""Writes scikit-learn reference results for reeldb's clustering SQL functions.

    python3 tests/cluster/make_reference.py          # every file
    python3 tests/cluster/make_reference.py lof      # only the files named (lof.json)

Made with scikit-learn 1.7.2 (numpy 2.4, scipy 1.17); every file records `sklearn.__version__`
under "sklearn". Needs scikit-learn, numpy and scipy; it is NOT run by the test suite: the
JSON files it writes are committed, and the Rust integration tests only read them.
Deterministic (fixed numpy seeds): running it again rewrites the same files.

It writes into tests/cluster/reference/ (next to this script):

    dbscan_euclidean.json  300 points 8-D: 4 Gaussian blobs + 15 uniform noise points;
                           DBSCAN(eps, min_samples=5, metric='euclidean') labels
    dbscan_cosine.json     300 points 8-D: 4 clusters of directions with lengths 0.5..5 + 15
                           noise points; DBSCAN(eps, min_samples=5, metric='cosine') labels
    kmeans.json            400 points 16-D, 5 blobs; kmeans_plusplus(X, 5, random_state=0)
                           centres, then KMeans(lloyd, n_init=1, max_iter=300, tol=1e-4)
    hdbscan.json           400 points 10-D, blobs of different sizes and densities + noise;
                           HDBSCAN(min_cluster_size=10) labels, 'eom' and 'leaf', and 'eom'
                           with metric='cosine'
    quality.json           200 points 6-D, a clustering "labels_a" (with -1 noise) and string
                           classes "truth"; silhouette (euclidean, cosine), ARI, purity
    projection.json        216 points 32-D, 5 blobs; PCA(2) and TSNE(2) embeddings with
                           their trustworthiness (k=5)
    lof.json               300 points 8-D: 3 Gaussian blobs of different densities, uniform
                           outliers and exact duplicates; LocalOutlierFactor(n_neighbors=20
                           and 5, euclidean and cosine) as -negative_outlier_factor_, and the
                           distance to the 20th nearest other point (made with scikit-learn
                           1.9.1, numpy 2.4, scipy 1.17)

Every file is {"sklearn": version, "dim": d, "points": [[...], ...], ...method fields}.

Numbers: coordinates are rounded to 4 decimals, and sklearn is given the float32 values of those
decimals, so Rust reading the same decimals as f32 sees exactly the same numbers (the script
asserts that decimal -> f64 -> f32 and decimal -> f32 agree for every coordinate). Those float32
values are passed to sklearn as float64 arrays (the same numbers, computed in double
precision); the clustering results are asserted to be the same when sklearn is given the float32
array itself.

So that the Rust tests can compare labels without depending on accidents, the script asserts:
- DBSCAN: no pairwise distance lies within 1e-3 of eps. At 300 points the distances are too
  dense near any useful eps for a gap of 2e-3 to exist, so eps is put in the widest gap nearby
  and then one point of each pair still too close is moved along the distance's gradient until
  the pair is 1.6e-3 off eps (9 points move in the euclidean file, 48 in the cosine one, by at
  most a few hundredths; "nudged_points" says how many). And no border point is within eps of
  core points of two clusters (the one case where DBSCAN's labels depend on visiting order);
- every clustering gives the same partition from float32 input, from shuffled points (30
  shuffles for HDBSCAN, whose ties between equal mutual-reachability distances make most
  seeds order-dependent: the seed used is one that is not), and with f32-rounding-sized noise;
- LOF: a numpy re-implementation of the definition over the full distance matrix gives
  sklearn's scores, and no point's k-th and (k+1)-th nearest others are within 1e-6 (relative)
  of each other unless they are the same vector, so the neighbour sets do not depend on how
  ties or rounding fall;
- k-means: a numpy re-implementation of sklearn's Lloyd loop gives the same labels, centres
  and iteration count, and no point is within 0.1 (squared distance) of a tie between centres.
Labels are sklearn's numbers; clusters are the same as sets, but a test should compare them up
to a renumbering (-1 = noise always).
"""

import json
import os
import sys
import warnings
from fractions import Fraction

import numpy as np
import scipy
import sklearn
from scipy.spatial.distance import cdist, pdist, squareform
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans, kmeans_plusplus
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, trustworthiness
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")
DECIMALS = 4
EPS_MARGIN = 1e-3
VERSION = sklearn.__version__


# ---------------------------------------------------------------- numbers

def to_decimals(X):
    """Rounds to DECIMALS and returns the float32 values of those decimals as float64."""
    rounded = np.round(np.asarray(X, dtype=np.float64), DECIMALS) + 0.0  # +0.0: no -0.0
    return rounded.astype(np.float32).astype(np.float64)


def decimal_text(v):
    return f"{v:.{DECIMALS}f}"


def check_f32_parse(X):
    """Asserts decimal -> f64 -> f32 (numpy, serde) equals decimal -> f32 (Rust's parse)."""
    for v in np.unique(X):
        text = decimal_text(v)
        exact = Fraction(text)
        f = np.float32(float(text))
        assert float(f) == v, (text, v)
        up = np.nextafter(f, np.float32(np.inf))
        down = np.nextafter(f, np.float32(-np.inf))
        err = abs(exact - Fraction(float(f)))
        assert err <= abs(exact - Fraction(float(up))), text
        assert err <= abs(exact - Fraction(float(down))), text


def points_json(X):
    return [[float(decimal_text(v)) for v in row] for row in X]


def same_partition(a, b):
    """True if labels a and b are the same clusters (noise -1 must be the same points)."""
    a, b = np.asarray(a), np.asarray(b)
    if not np.array_equal(a == -1, b == -1):
        return False
    pairs = set(zip(a[a != -1].tolist(), b[b != -1].tolist()))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


def check_stable(name, fit, X, rng, trials=5):
    """fit(X) -> labels; asserts the partition survives float32 input, shuffling and tiny noise."""
    labels = fit(X)
    assert same_partition(labels, fit(X.astype(np.float32))), f"{name}: float32 input differs"
    for trial in range(trials):
        perm = rng.permutation(len(X))
        shuffled = np.empty_like(labels)
        shuffled[perm] = fit(X[perm])
        assert same_partition(labels, shuffled), f"{name}: shuffled input differs ({trial})"
        noisy = X * (1 + rng.normal(0, 2e-7, X.shape))
        assert same_partition(labels, fit(noisy)), f"{name}: f32-sized noise differs ({trial})"
    return labels


def counts(labels):
    labels = np.asarray(labels)
    return {"clusters": int(len(set(labels.tolist()) - {-1})), "noise": int((labels == -1).sum())}


# ---------------------------------------------------------------- writing

def write(name, fields):
    """One key per line, one point per line: small files that still read well in a diff."""
    doc = {"sklearn": VERSION, **fields}
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], list):
            rows = ",\n  ".join(json.dumps(r, separators=(",", ":")) for r in value)
            text = f"[\n  {rows}\n]"
        else:
            text = json.dumps(value, separators=(",", ":"))
        lines.append(f"{json.dumps(key)}: {text}")
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    with open(path, encoding="utf-8") as f:
        json.load(f)  # well-formed
    print(f"{name}: {os.path.getsize(path)} bytes", end="")


# ---------------------------------------------------------------- DBSCAN

def distances(X, metric):
    return squareform(pdist(X, metric))


def cosine_distance_grad(xj, xi):
    """Gradient of 1 - cos(xi, xj) with respect to xj."""
    ni, nj = np.linalg.norm(xi), np.linalg.norm(xj)
    cos = xi @ xj / (ni * nj)
    return -(xi / (ni * nj) - cos * xj / nj**2)


def nudge_off_eps(X, eps, metric):
    """Moves points until no pairwise distance is within EPS_MARGIN of eps; returns X, moved."""
    X = X.copy()
    moved = set()
    for _ in range(100):
        D = distances(X, metric)
        i_s, j_s = np.nonzero(np.triu(np.abs(D - eps) < EPS_MARGIN, 1))
        if len(i_s) == 0:
            return X, sorted(moved)
        touched = set()
        for i, j in zip(i_s.tolist(), j_s.tolist()):
            if i in touched or j in touched:
                continue
            touched.add(j)
            moved.add(j)
            d = D[i, j]
            target = eps + (1 if d >= eps else -1) * 1.6 * EPS_MARGIN
            x = X[j].copy()
            for _ in range(3):  # Newton steps on the distance along its gradient
                if metric == "euclidean":
                    grad = (x - X[i]) / np.linalg.norm(x - X[i])
                    cur = np.linalg.norm(x - X[i])
                else:
                    grad = cosine_distance_grad(x, X[i])
                    cur = 1 - X[i] @ x / (np.linalg.norm(X[i]) * np.linalg.norm(x))
                x = x + (target - cur) * grad / (grad @ grad)
            X[j] = to_decimals(x)
    raise AssertionError("could not move all distances away from eps")


def pick_eps(X, metric, lo, hi):
    """The middle of the widest gap between sorted pairwise distances in [lo, hi]."""
    d = np.sort(pdist(X, metric))
    d = d[(d >= lo) & (d <= hi)]
    k = int(np.argmax(np.diff(d)))
    return round(float((d[k] + d[k + 1]) / 2), DECIMALS)


def check_dbscan(X, labels, eps, min_samples, metric):
    D = distances(X, metric)
    off = D[np.triu_indices(len(X), 1)]
    assert np.abs(off - eps).min() >= EPS_MARGIN, "a distance is too close to eps"
    # eps as Rust would read it (f32) must not change anything either
    assert np.abs(off - float(np.float32(eps))).min() >= EPS_MARGIN * 0.99
    near = D <= eps
    core = near.sum(axis=1) >= min_samples  # the point itself counts, as in sklearn
    border = 0
    for p in np.nonzero(~core)[0]:
        cluster_ids = set(labels[near[p] & core].tolist())
        assert len(cluster_ids) <= 1, f"border point {p} reaches {cluster_ids}"
        border += bool(cluster_ids)
    assert (labels[core] != -1).all()
    return int(core.sum()), border


def make_dbscan(name, metric, X, lo, hi, rng):
    eps = pick_eps(X, metric, lo, hi)
    X, moved = nudge_off_eps(X, eps, metric)
    min_samples = 5

    def fit(data):
        return DBSCAN(eps=eps, min_samples=min_samples, metric=metric).fit(data).labels_

    labels = check_stable(name, fit, X, rng)
    n_core, n_border = check_dbscan(X, labels, eps, min_samples, metric)
    check_f32_parse(X)
    c = counts(labels)
    assert c["clusters"] == 4 and c["noise"] > 0, c
    write(name, {
        "dim": X.shape[1], "n": len(X), "eps": eps, "min_samples": min_samples, "metric": metric,
        "algorithm": "DBSCAN default ('auto')", **c, "core_points": n_core,
        "border_points": n_border, "nudged_points": len(moved),
        "notes": "min_samples counts the point itself; a neighbour is distance <= eps "
                 "(cosine distance = 1 - cosine similarity). No pairwise distance is within "
                 "1e-3 of eps: nudged_points points were moved (by up to a few 1e-3) to make "
                 "it so. Compare labels up to renumbering.",
        "labels": labels.tolist(), "points": points_json(X)})
    print(f"  eps={eps} {c} core={n_core} border={n_border} nudged={len(moved)} points")


def dbscan_euclidean():
    rng = np.random.default_rng(101)
    d, sizes = 8, [80, 75, 70, 60]
    centres = rng.uniform(-4, 4, (len(sizes), d))
    X = np.vstack([c + rng.normal(0, 0.45, (n, d)) for c, n in zip(centres, sizes)]
                  + [rng.uniform(-6, 6, (15, d))])
    make_dbscan("dbscan_euclidean.json", "euclidean", to_decimals(X), 1.30, 1.45, rng)


def dbscan_cosine():
    rng = np.random.default_rng(202)
    d, sizes = 8, [80, 75, 70, 60]
    dirs = rng.normal(0, 1, (len(sizes), d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    parts = []
    for direction, n in zip(dirs, sizes):
        v = direction + rng.normal(0, 0.18, (n, d))
        parts.append(v / np.linalg.norm(v, axis=1, keepdims=True) * rng.uniform(0.5, 5, (n, 1)))
    noise = rng.normal(0, 1, (15, d))
    parts.append(noise / np.linalg.norm(noise, axis=1, keepdims=True) * rng.uniform(0.5, 5, (15, 1)))
    make_dbscan("dbscan_cosine.json", "cosine", to_decimals(np.vstack(parts)), 0.09, 0.11, rng)


# ---------------------------------------------------------------- k-means

def kmeans():
    rng = np.random.default_rng(307)
    d, k, sizes = 16, 5, [100, 90, 80, 70, 60]
    centres = rng.uniform(-2, 2, (k, d))  # close enough that Lloyd takes a few iterations
    X = to_decimals(np.vstack([c + rng.normal(0, 1.2, (n, d)) for c, n in zip(centres, sizes)]))
    check_f32_parse(X)
    init, init_idx = kmeans_plusplus(X, k, random_state=0)
    init32, init_idx32 = kmeans_plusplus(X.astype(np.float32), k, random_state=0)
    assert np.array_equal(init_idx, init_idx32)
    assert np.array_equal(init, X[init_idx])  # k-means++ picks points: exact decimals

    def model(data):
        return KMeans(n_clusters=k, init=init.astype(data.dtype), n_init=1, algorithm="lloyd",
                      max_iter=300, tol=1e-4).fit(data)

    km = model(X)
    km32 = model(X.astype(np.float32))
    assert np.array_equal(km.labels_, km32.labels_) and km.n_iter_ == km32.n_iter_
    check_stable("kmeans", lambda data: model(data).labels_, X, rng)
    tol_abs = float(np.mean(np.var(X, axis=0)) * 1e-4)
    labels, centres, iterations, stop = lloyd(X, X[init_idx], 300, tol_abs)
    assert np.array_equal(labels, km.labels_) and iterations == km.n_iter_
    assert np.abs(centres - km.cluster_centers_).max() < 1e-9
    sq = np.sort(cdist(X, km.cluster_centers_, "sqeuclidean"), axis=1)
    assert (sq[:, 1] - sq[:, 0]).min() > 0.1  # no point nearly equidistant from two centres
    # sklearn's own inertia, recomputed in f64 from its labels and centres as a cross-check
    inertia = float(((X - km.cluster_centers_[km.labels_]) ** 2).sum())
    assert abs(inertia - km.inertia_) <= 1e-9 * inertia
    write("kmeans.json", {
        "dim": d, "n": len(X), "k": k, "max_iter": 300, "tol": 1e-4, "algorithm": "lloyd",
        "notes": "init_centres = kmeans_plusplus(X, 5, random_state=0), the points at "
                 "init_indices. sklearn stops when labels stop changing or when the summed "
                 "squared centre shift <= tol * mean over columns of var(X) (tol is relative). "
                 "iterations = n_iter_, counting the final pass that finds the labels "
                 "unchanged (sklearn's Lloyd loop: assign, move centres, stop if labels equal "
                 "the previous pass's or the centre shift <= tol_absolute). Labels are numbered "
                 "as the initial centres.",
        "init_indices": init_idx.tolist(), "init_centres": points_json(X[init_idx]),
        "iterations": int(km.n_iter_), "inertia": round(float(km.inertia_), 6),  # its last bits vary with threads
        "tol_absolute": tol_abs, "stopped_by": stop,
        "centres": [[round(float(v), 6) for v in row] for row in km.cluster_centers_],
        "labels": km.labels_.tolist(), "points": points_json(X)})
    print(f"  iterations={km.n_iter_} inertia={km.inertia_:.4f} "
          f"sizes={np.bincount(km.labels_).tolist()}")


def lloyd(X, centres, max_iter, tol_abs):
    """sklearn's _kmeans_single_lloyd in numpy, to check what "iterations" counts."""
    previous = None
    for i in range(max_iter):
        labels = cdist(X, centres, "sqeuclidean").argmin(axis=1)
        assert len(np.unique(labels)) == len(centres)  # no empty cluster
        new = np.array([X[labels == c].mean(axis=0) for c in range(len(centres))])
        shift = float(((new - centres) ** 2).sum())
        centres = new
        if previous is not None and np.array_equal(labels, previous):
            return labels, centres, i + 1, "labels unchanged"
        if shift <= tol_abs:
            return cdist(X, centres, "sqeuclidean").argmin(axis=1), centres, i + 1, "tol"
        previous = labels
    return cdist(X, centres, "sqeuclidean").argmin(axis=1), centres, max_iter, "max_iter"


# ---------------------------------------------------------------- HDBSCAN

def hdbscan():
    rng = np.random.default_rng(473)  # a seed whose labels do not depend on the points' order
    d = 10
    # (size, spread): dense, loose, small and tight, a pair of close sub-blobs, noise
    spec = [(110, 0.6), (80, 1.4), (40, 0.3), (35, 1.0)]
    centres = rng.uniform(-8, 8, (len(spec), d))
    parts = [c + rng.normal(0, s, (n, d)) for c, (n, s) in zip(centres, spec)]
    pair = rng.uniform(-8, 8, d)
    shift = rng.normal(0, 1, d)
    shift *= 2.2 / np.linalg.norm(shift)
    parts += [pair + rng.normal(0, 0.5, (45, d)), pair + shift + rng.normal(0, 0.5, (45, d))]
    parts.append(rng.uniform(-11, 11, (45, d)))
    X = to_decimals(np.vstack(parts))
    check_f32_parse(X)
    mcs = 10

    def fitter(method, metric):
        def fit(data):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return HDBSCAN(min_cluster_size=mcs, min_samples=None, metric=metric,
                               cluster_selection_method=method).fit(data).labels_
        return fit

    eom = check_stable("hdbscan eom", fitter("eom", "euclidean"), X, rng, trials=30)
    leaf = check_stable("hdbscan leaf", fitter("leaf", "euclidean"), X, rng, trials=30)
    cos = check_stable("hdbscan cosine", fitter("eom", "cosine"), X, rng, trials=30)
    # metric='cosine' is not a KDTree/BallTree metric, so algorithm='auto' runs 'brute'
    brute = HDBSCAN(min_cluster_size=mcs, metric="cosine", algorithm="brute").fit(X).labels_
    assert np.array_equal(cos, brute)
    write("hdbscan.json", {
        "dim": d, "n": len(X), "min_cluster_size": mcs, "min_samples": None,
        "min_samples_used": mcs, "alpha": 1.0, "cluster_selection_epsilon": 0.0,
        "allow_single_cluster": False, "algorithm": "auto",
        "algorithm_cosine": "auto, which is 'brute' for cosine (asserted equal to 'brute')",
        "notes": "min_samples=None means min_samples = min_cluster_size; the core distance is "
                 "the distance to the min_samples-th nearest point counting the point itself. "
                 "Compare labels up to renumbering.",
        "counts_eom": counts(eom), "counts_leaf": counts(leaf), "counts_cosine_eom": counts(cos),
        "labels_eom": eom.tolist(), "labels_leaf": leaf.tolist(),
        "labels_cosine_eom": cos.tolist(), "points": points_json(X)})
    print(f"  eom={counts(eom)} leaf={counts(leaf)} cosine_eom={counts(cos)}")


# ---------------------------------------------------------------- quality metrics

def quality():
    rng = np.random.default_rng(505)
    d = 6
    names = ["alpha", "beta", "gamma", "delta"]
    sizes = [60, 50, 50, 40]
    centres = rng.uniform(-2, 2, (len(names), d))  # overlapping: purity and ARI below 1
    X = to_decimals(np.vstack([c + rng.normal(0, 1.0, (n, d)) for c, n in zip(centres, sizes)]))
    truth = np.repeat(names, sizes)
    check_f32_parse(X)
    km = KMeans(n_clusters=4, n_init=1, random_state=0, algorithm="lloyd").fit(X)
    labels = km.labels_.astype(np.int64)
    far = np.linalg.norm(X - km.cluster_centers_[labels], axis=1)
    labels[np.argsort(far)[-7:]] = -1  # the 7 points farthest from their centre are noise
    kept = labels != -1
    sil = float(silhouette_score(X[kept], labels[kept], metric="euclidean"))
    sil_cos = float(silhouette_score(X[kept], labels[kept], metric="cosine"))
    sil32 = float(silhouette_score(X[kept].astype(np.float32), labels[kept]))
    assert abs(sil - sil32) < 1e-5
    ari = float(adjusted_rand_score(labels, truth))
    purity = sum(np.unique(truth[labels == c], return_counts=True)[1].max()
                 for c in set(labels[kept].tolist())) / int(kept.sum())
    write("quality.json", {
        "dim": d, "n": len(X), **counts(labels),
        "notes": "labels_a: KMeans(4) with the 7 points farthest from their centre set to -1. "
                 "silhouette_*_without_noise: silhouette_score on the rows with labels_a != -1. "
                 "ari: adjusted_rand_score(labels_a, truth) over all rows, -1 a label like any "
                 "other. purity_without_noise: sum over clusters of the largest count of one "
                 "truth value / number of rows with labels_a != -1. Metrics computed in float64.",
        "silhouette_without_noise": sil, "silhouette_cosine_without_noise": sil_cos,
        "ari": ari, "purity_without_noise": float(purity),
        "labels_a": labels.tolist(), "truth": truth.tolist(), "points": points_json(X)})
    print(f"  silhouette={sil:.6f} cosine={sil_cos:.6f} ari={ari:.6f} purity={purity:.6f}")


# ---------------------------------------------------------------- projections

def projection():
    rng = np.random.default_rng(606)
    d, sizes = 32, [48, 45, 43, 41, 39]  # 216: 300 points would be a 90 KB file
    centres = rng.uniform(1.5, 8.5, (len(sizes), d))
    X = to_decimals(np.vstack([c + rng.normal(0, 0.5, (n, d)) for c, n in zip(centres, sizes)]))
    assert X.min() > 0 and X.max() < 10  # keeps every number at 6 characters: a small file
    check_f32_parse(X)
    pca = PCA(n_components=2)
    pca_out = np.round(pca.fit_transform(X), 5) + 0.0
    for row in pca.components_:  # the sign convention the notes describe
        assert row[np.argmax(np.abs(row))] > 0
    tsne = TSNE(n_components=2, perplexity=8, init="pca", random_state=0)
    tsne_out = tsne.fit_transform(X)
    tw_tsne = float(trustworthiness(X, tsne_out, n_neighbors=5))
    tw_pca = float(trustworthiness(X, pca_out, n_neighbors=5))
    write("projection.json", {
        "dim": d, "n": len(X), "blob_sizes": sizes,
        "notes": "pca = PCA(n_components=2).fit_transform(X) rounded to 5 decimals; sklearn "
                 "flips each component's sign so that its largest-magnitude loading is "
                 "positive. tsne = TSNE(n_components=2, perplexity=8, init='pca', "
                 "random_state=0) (barnes_hut, max_iter=1000, learning_rate='auto'); its "
                 "layout is not reproducible elsewhere, compare trustworthiness. "
                 "trustworthiness_*_k5 = trustworthiness(X, embedding, n_neighbors=5).",
        "pca_svd_solver": pca._fit_svd_solver,
        "pca_explained_variance_ratio": [round(float(v), 8) for v in pca.explained_variance_ratio_],
        "pca_components": [[round(float(v), 8) for v in row] for row in pca.components_],
        "tsne_kl_divergence": round(float(tsne.kl_divergence_), 6),
        "trustworthiness_tsne_k5": tw_tsne, "trustworthiness_pca_k5": tw_pca,
        "pca": [[float(f"{v:.5f}") for v in row] for row in pca_out],
        "tsne": [[round(float(v), 4) for v in row] for row in tsne_out],
        "points": points_json(X)})
    print(f"  trustworthiness tsne={tw_tsne:.6f} pca={tw_pca:.6f} "
          f"solver={pca._fit_svd_solver} kl={tsne.kl_divergence_:.4f}")


# ---------------------------------------------------------------- outliers

def lof_by_definition(D, k):
    """LOF from a full distance matrix, as sklearn defines it; also the k-distances."""
    n = len(D)
    others = D + np.diag(np.full(n, np.inf))  # a point is not its own neighbour
    order = np.argsort(others, axis=1, kind="stable")[:, :k]
    dist = np.take_along_axis(others, order, axis=1)
    k_dist = dist[:, -1]
    reach = np.maximum(dist, k_dist[order])
    lrd = 1.0 / (reach.mean(axis=1) + 1e-10)
    return (lrd[order] / lrd[:, None]).mean(axis=1), k_dist, order


def check_no_near_ties(X, D, k):
    """No k-th / (k+1)-th nearest pair within 1e-6 (relative) unless they are one vector."""
    n = len(D)
    others = D + np.diag(np.full(n, np.inf))
    order = np.argsort(others, axis=1, kind="stable")
    for p in range(n):
        a, b = order[p, k - 1], order[p, k]
        da, db = others[p, a], others[p, b]
        if abs(db - da) <= 1e-6 * max(db, 1e-12):
            assert np.array_equal(X[a], X[b]), (p, k, da, db)


def lof():
    rng = np.random.default_rng(707)
    d = 8
    # (size, spread): dense, medium and loose blobs, then uniform outliers
    spec = [(120, 0.3), (90, 0.8), (55, 1.8)]
    centres = rng.uniform(-5, 5, (len(spec), d))
    parts = [c + rng.normal(0, s, (n, d)) for c, (n, s) in zip(centres, spec)]
    parts.append(rng.uniform(-9, 9, (35, d)))
    X = np.vstack(parts)
    X[[5, 6, 7]] = X[4]      # 4 copies of one point in the dense blob (fewer than k)
    X[[150, 151]] = X[149]   # 3 copies in the medium blob
    X = to_decimals(X)
    check_f32_parse(X)
    cases = {}
    for metric in ["euclidean", "cosine"]:
        D = distances(X, metric)
        for k in [20, 5]:
            model = LocalOutlierFactor(n_neighbors=k, metric=metric).fit(X)
            scores = -model.negative_outlier_factor_
            mine, k_dist, _ = lof_by_definition(D, k)
            assert np.abs(mine - scores).max() <= 1e-9 * scores.max(), (metric, k)
            check_no_near_ties(X, D, k)
            cases[f"lof_{metric}_{k}"] = [round(float(v), 10) for v in scores]
            if k == 20:
                nn = NearestNeighbors(n_neighbors=k, metric=metric).fit(X)
                theirs = nn.kneighbors()[0][:, -1]
                assert np.abs(theirs - k_dist).max() <= 1e-9
                cases[f"knn_{metric}_{k}"] = [round(float(v), 10) for v in theirs]
            print(f"  {metric} k={k}: max {scores.max():.4f}, {int((scores > 1.5).sum())} above 1.5")
    write("lof.json", {
        "dim": d, "n": len(X), "blob_sizes": [n for n, _ in spec], "uniform_outliers": 35,
        "duplicates": [[4, 5, 6, 7], [149, 150, 151]],
        "notes": "lof_<metric>_<k> = -LocalOutlierFactor(n_neighbors=k, metric).fit(X)."
                 "negative_outlier_factor_ (algorithm 'auto': a KD-tree for euclidean, brute "
                 "force for cosine), rounded to 10 decimals: about 1 for inliers, larger is more "
                 "outlying. knn_<metric>_20 = the distance to the 20th nearest other point "
                 "(NearestNeighbors.kneighbors() on the training data, which leaves the point "
                 "itself out). cosine distance = 1 - cosine similarity. Rows 5-7 repeat row 4 "
                 "and rows 150-151 repeat row 149.",
        **cases, "points": points_json(X)})
    print()


FILES = {"dbscan_euclidean": dbscan_euclidean, "dbscan_cosine": dbscan_cosine, "kmeans": kmeans,
         "hdbscan": hdbscan, "quality": quality, "projection": projection, "lof": lof}


def main():
    os.makedirs(OUT, exist_ok=True)
    print(f"scikit-learn {VERSION}, numpy {np.__version__}, scipy {scipy.__version__}")
    names = sys.argv[1:] or list(FILES)
    for name in names:
        FILES[name.removesuffix(".json")]()


if __name__ == "__main__":
    main()
