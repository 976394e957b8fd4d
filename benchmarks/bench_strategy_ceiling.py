"""How far the labels of an architecture predict its place at the top of a NAS-Bench-Graph table: a ceiling for
every strategy that learns from labels.

A random forest (scikit-learn) is fitted on ``n`` random distinct architectures of a table (one-hot labels of the
benchmark's canonical samples: what the strategies see), far more than a search's budget, and then picks the 100
untried architectures it predicts best. Per data set and ``n``, over ``SEEDS`` seeds: the regret of the best of
those 100 picks (the training architectures excluded), how many of the picks are in the table's top 1%, and the
correlation of prediction and truth on the untried architectures. If a model fitted on 1,000 or 10,000
architectures cannot place its 100 picks within half a point of the optimum, a search of 100 trials can do so
only by luck: the top of such a table is noise between similar networks, not a structure labels reveal.
"""
from __future__ import annotations

import itertools
from typing import Dict, List

SEEDS = 5
TRAIN_SIZES = (100, 1000, 10000)
PICKS = 100
DATASETS = ("cora", "citeseer", "pubmed", "computers")


def _architectures(dataset: str):
    """``(one-hot matrix, validation accuracies)``: every architecture of the table once, as canonical labels."""
    import numpy as np

    from nascore.mutable import Categorical
    from nascore_nasbench import NasBenchGraphSpace, load_table
    from nascore_nasbench.table import NUM_NODES

    table, space = load_table(dataset), NasBenchGraphSpace()
    leaves = space.simplify()
    labels = [label for label, leaf in leaves.items() if isinstance(leaf, Categorical)]  # not the constraint
    values = {label: list(leaves[label].values) for label in labels}
    seen: Dict[int, List[int]] = {}
    for combo in itertools.product(*(values[label] for label in labels)):
        sample = dict(zip(labels, combo))
        if all(sample[f"op{i}"] == "skip" for i in range(NUM_NODES)):  # not in the table
            continue
        canonical = space.canonical_sample(sample)
        key = table.query_sample(canonical).key
        if key not in seen:
            seen[key] = [values[label].index(canonical[label]) for label in labels]
    codes = np.array(list(seen.values()))
    onehot = np.concatenate([np.eye(len(values[label]))[codes[:, i]] for i, label in enumerate(labels)], axis=1)
    accuracy = {record.key: record.valid_accuracy for record in table}
    return onehot, np.array([accuracy[key] for key in seen])


def ceiling_of(dataset: str, seeds: int = SEEDS) -> List[Dict]:
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    from benchmarks.bench_strategy import mean_std

    features, valid = _architectures(dataset)
    order = np.argsort(-valid)
    top = np.zeros(len(valid), dtype=bool)
    top[order[:max(1, len(valid) // 100)]] = True
    results = []
    for n in TRAIN_SIZES:
        regrets, hits, correlations = [], [], []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            train = rng.choice(len(valid), n, replace=False)
            rest = np.setdiff1d(np.arange(len(valid)), train)
            forest = RandomForestRegressor(200, min_samples_leaf=3, random_state=seed, n_jobs=1)
            predicted = forest.fit(features[train], valid[train]).predict(features[rest])
            picks = rest[np.argsort(-predicted)[:PICKS]]
            regrets.append(100 * (valid.max() - valid[picks].max()))
            hits.append(int(top[picks].sum()))
            correlations.append(float(np.corrcoef(predicted, valid[rest])[0, 1]))
        results.append({"case": "ceiling", "dataset": dataset, "train_architectures": n, "picks": PICKS,
                        "seeds": seeds, "regret_of_picks": mean_std(regrets),
                        "picks_in_top_1%": mean_std(hits), "correlation": mean_std(correlations)})
    return results


def run() -> List[Dict]:
    return [line for dataset in DATASETS for line in ceiling_of(dataset)]
