"""Writes networkx and seed-script reference results for reeldb's graph functions.

    python3 tests/graph/make_reference.py

Made with networkx 3.6.1 (scipy 1.17.1, numpy 2.4.6); every file records `networkx.__version__`.
Needs networkx, scipy and numpy; it is NOT run by the test suite: the JSON files it writes are
committed, and the Rust integration tests (tests/integration/graph.rs) only read them.
Deterministic (random.Random with fixed seeds): running it again rewrites the same files.

It writes into tests/graph/reference/ (next to this script):

    pagerank.json      networkx.pagerank on seeded random graphs: weighted and unweighted
                       directed graphs with duplicate edges (a MultiDiGraph, whose matrix sums
                       them, as reeldb does), graphs with dangling nodes and isolated self-
                       loops, an undirected MultiGraph, text node ids, non-default damping and
                       tolerance, and the seed-002-like co-occurrence graph of
                       cooccurrence.json's faces (undirected, weighted by `weight`)
    cooccurrence.json  a seeded random faces table (video, frame, person; NULL and -1 labels,
                       gaps between frames) and the seed's EDGES for several settings, from a
                       Python port of the seed's Perl script (below); also a table labelled per
                       video (`group => 'video'`)

The port follows the Perl line by line, with two generalisations the SQL function adds:
`window` earlier frames instead of one, and several videos (adjacency never crosses a video).
Its one deliberate difference: a frame's labels are sorted as numbers, where Perl's `sort keys`
sorts them as text (the same for labels 0..9; the Rust docs say so).
"""

import json
import os
import random

import networkx as nx

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")
VERSION = nx.__version__


# ---------------------------------------------------------------- the seed's rules

def seed_edges(rows, window=1, directed=False):
    """The seed's %EDGES: {(a, b): count}, from rows (video, frame, label)."""
    by_frame = {}  # video -> frame -> set of labels ($FACEIDSBYFRAME)
    for video, frame, label in rows:
        if video is None or frame is None or label is None:
            continue
        if label == -1:  # skip unclustered...
            continue
        by_frame.setdefault(video, {}).setdefault(frame, set()).add(label)
    edges = {}

    def add(key):
        edges[key] = edges.get(key, 0) + 1

    for frames in by_frame.values():
        for frame in frames:
            arr_this = sorted(frames[frame])
            # faces that actually co-occurred together in THIS frame...
            for i in range(len(arr_this)):
                for j in range(i + 1, len(arr_this)):
                    add((arr_this[i], arr_this[j]))
            # connect to faces from previous frame(s)...
            for back in range(1, window + 1):
                arr_prev = sorted(frames.get(frame - back, ()))
                for x in arr_this:
                    for y in arr_prev:
                        if x != y:
                            add((x, y))
    if not directed:
        merged = {}
        for (a, b), count in edges.items():
            key = (min(a, b), max(a, b))
            merged[key] = merged.get(key, 0) + count
        edges = merged
    return edges


def seed_output(edges, min_weight=2):
    """The seed's EDGES.csv rows (before the 4-decimal formatting): max over all pairs, then
    the threshold; sorted by count desc, a, b."""
    top = max(edges.values(), default=0)
    rows = [
        [a, b, count, count / top]
        for (a, b), count in edges.items()
        if count >= min_weight
    ]
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return rows


def random_faces(rng, videos, frames, labels, noise=0.1, nulls=0.03, empty=0.15):
    rows = []
    for video in videos:
        frame = 0
        for _ in range(frames):
            frame += 1 if rng.random() > 0.1 else rng.randint(2, 4)  # some gaps
            if rng.random() < empty:
                continue
            for _ in range(rng.randint(1, 4)):
                roll = rng.random()
                if roll < nulls:
                    label = None
                elif roll < nulls + noise:
                    label = -1
                else:
                    label = rng.choice(labels)
                rows.append([video, frame, label])
    return rows


def cooccurrence_reference():
    rng = random.Random(2002)
    rows = random_faces(rng, ["news", "panel", "report"], 60, list(range(14)))
    rng.shuffle(rows)  # table order must not matter
    settings = [
        {"window": 1, "min_weight": 2, "directed": False},
        {"window": 1, "min_weight": 2, "directed": True},
        {"window": 0, "min_weight": 1, "directed": False},
        {"window": 3, "min_weight": 3, "directed": False},
        {"window": 2, "min_weight": 0, "directed": True},
    ]
    cases = []
    for s in settings:
        edges = seed_edges(rows, s["window"], s["directed"])
        cases.append(dict(s, edges=seed_output(edges, s["min_weight"])))

    # Labels clustered per video: each video is a graph of its own.
    grouped_rows = random_faces(random.Random(7), ["a", "b"], 40, list(range(5)))
    grouped = []
    for video in ["a", "b"]:
        own = [r for r in grouped_rows if r[0] == video]
        for a, b, count, weight in seed_output(seed_edges(own, 1, False), 2):
            grouped.append([video, a, b, count, weight])
    return {
        "networkx": VERSION,
        "rows": rows,
        "cases": cases,
        "grouped_rows": grouped_rows,
        "grouped": {"window": 1, "min_weight": 2, "directed": False, "edges": grouped},
    }


# ---------------------------------------------------------------- PageRank

def random_edges(rng, nodes, count, weighted, self_loops=True):
    edges = []
    for _ in range(count):
        s, t = rng.randrange(nodes), rng.randrange(nodes)
        if s == t and not self_loops:
            continue
        w = round(rng.uniform(0.1, 5.0), 3) if weighted else 1.0
        edges.append([s, t, w])
    return edges


def ranks_of(edges, directed, damping=0.85, max_iter=100, tol=1e-6, nodes=()):
    G = nx.MultiDiGraph() if directed else nx.MultiGraph()
    G.add_nodes_from(nodes)
    for s, t, w in edges:
        G.add_edge(s, t, weight=w)
    ranks = nx.pagerank(G, alpha=damping, max_iter=max_iter, tol=tol, weight="weight")
    return [[node, rank] for node, rank in ranks.items()]


def pagerank_reference(cooccurrence):
    rng = random.Random(85)
    cases = []

    def case(name, edges, directed=True, weighted=True, **params):
        cases.append({
            "name": name,
            "directed": directed,
            "weighted": weighted,
            "damping": params.get("damping", 0.85),
            "iterations": params.get("max_iter", 100),
            "tolerance": params.get("tol", 1e-6),
            "edges": edges,
            "ranks": ranks_of(edges, directed, **params),
        })

    case("weighted_directed", random_edges(rng, 40, 160, True))
    unweighted = random_edges(rng, 30, 90, False)
    unweighted += unweighted[:10]  # duplicates: counted twice
    case("unweighted_directed_with_duplicates", unweighted, weighted=False)
    # Nodes 20..29 only receive: dangling.
    dangling = [[s, t, w] for s, t, w in random_edges(rng, 30, 100, True) if s < 20]
    dangling.append([25, 25, 0.0])  # a zero-weight self-loop: still dangling
    case("weighted_with_dangling_nodes", dangling)
    case("undirected_weighted", random_edges(rng, 35, 80, True), directed=False)
    case(
        "damping_and_tolerance",
        random_edges(rng, 25, 70, True),
        damping=0.6,
        tol=1e-10,
        max_iter=500,
    )
    names = ["anchor", "guest", "expert", "caller", "reporter", "mayor", "Zoë", "a,b", 'say "hi"']
    text = [[rng.choice(names), rng.choice(names), 1.0] for _ in range(30)]
    case("text_ids", text, weighted=False)

    # The seed-002 graph: faces -> co-occurrence (undirected, threshold 2) -> PageRank on the
    # normalised weights.
    first = cooccurrence["cases"][0]
    seed_graph = [[a, b, w] for a, b, _count, w in first["edges"]]
    case("seed_cooccurrence_graph", seed_graph, directed=False)
    return {"networkx": VERSION, "cases": cases}


def write(name, value):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", path)


def main():
    os.makedirs(OUT, exist_ok=True)
    cooccurrence = cooccurrence_reference()
    write("cooccurrence.json", cooccurrence)
    write("pagerank.json", pagerank_reference(cooccurrence))


if __name__ == "__main__":
    main()
