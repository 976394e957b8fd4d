"""NAS-Bench-Graph: the table reader, the space, and the lookup evaluator inside real experiments."""
from __future__ import annotations

import io
import itertools
import pickle
import random

import pytest

from nascore import NasExperiment, NasExperimentConfig
from nascore.strategy import Random
from nascore_nasbench import (DATASETS, NasBenchGraphEvaluator, NasBenchGraphSpace, evaluate_sample,
                              load_table)
from nascore_nasbench.table import OPS, PROTEINS_OPS, _DataOnlyUnpickler, _data_dir


@pytest.mark.parametrize("dataset", ["cora", "proteins"])
def test_table_matches_the_packages_own_reader(dataset):
    with open(_data_dir() / f"{dataset}.bench", "rb") as file:
        reference = pickle.load(file)  # what nas_bench_graph.light_read does
    table = load_table(dataset)
    assert len(table) == len(reference)
    for record in itertools.islice(table, 0, None, 997):
        entry = reference[record.key]
        assert (record.valid_accuracy, record.test_accuracy, record.latency, record.params) == \
            (entry["valid_perf"], entry["perf"], entry["latency"], entry["para"])
        assert type(record.params) is float  # plain floats, JSON-able
    assert table.optimum.valid_accuracy == max(e["valid_perf"] for e in reference.values())


def test_reader_refuses_code_in_a_table():
    payload = pickle.dumps(print)
    with pytest.raises(pickle.UnpicklingError, match="builtins.print, which is not data"):
        _DataOnlyUnpickler(io.BytesIO(payload)).load()


def test_every_sample_of_the_space_is_in_the_table():
    table = load_table("citeseer")
    keys = set()
    for links in itertools.product(range(2), range(3), range(4)):
        for ops in itertools.product(OPS, repeat=4):
            if set(ops) == {"skip"}:
                continue
            keys.add(table.query([0, *links], ops).key)
    assert len(keys) == len(table)  # the space covers the whole table; isomorphic samples share entries


def test_isomorphic_architectures_share_an_entry_and_bad_ones_are_named():
    table = load_table("cora")
    # nodes 1 and 2 both read the input and feed the output: swapping their ops is the same network
    assert table.key([0, 0, 0, 1], ["gcn", "gat", "sage", "fc"]) == table.key([0, 0, 0, 1], ["gcn", "sage", "gat", "fc"])
    assert table.key([0, 0, 0, 1], ["gcn", "gat", "sage", "fc"]) != table.key([0, 0, 0, 1], ["gat", "gcn", "sage", "fc"])
    assert table.key([0, 1, 2, 3], ["gcn", "gcn", "gcn", "gcn"]) != table.key([0, 0, 0, 0], ["gcn"] * 4)
    with pytest.raises(ValueError, match="only 'skip'"):
        table.key([0, 1, 2, 3], ["skip"] * 4)
    with pytest.raises(ValueError, match=r"unknown operation\(s\) \['conv'\]"):
        table.key([0, 1, 2, 3], ["gcn", "conv", "gcn", "gcn"])
    with pytest.raises(ValueError, match="node 2 can read the input"):
        table.key([0, 1, 3, 3], ["gcn"] * 4)
    with pytest.raises(ValueError, match="unknown NAS-Bench-Graph data set 'mnist'; choose one of cora"):
        NasBenchGraphEvaluator("mnist")
    with pytest.raises(ValueError, match="'link2' is missing"):
        evaluate_sample("cora", {"op0": "gcn", "op1": "gcn", "op2": "gcn", "op3": "gcn", "link1": 0, "link3": 0})


def test_space_labels_constraint_and_regret():
    space = NasBenchGraphSpace()
    leaves = space.simplify()
    assert sorted(k for k in leaves if k != "not_all_skip") == \
        ["link1", "link2", "link3", "op0", "op1", "op2", "op3"]
    sample = {"op0": "skip", "op1": "skip", "op2": "skip", "op3": "skip", "link1": 0, "link2": 1, "link3": 2}
    assert space.check_contains(sample) is not None  # ruled out: not in the table
    sample["op2"] = "gcn"
    assert space.check_contains(sample) is None
    frozen = space.freeze(sample)
    assert (frozen.links, frozen.ops) == ([0, 0, 1, 2], ["skip", "skip", "gcn", "skip"])
    proteins = NasBenchGraphSpace(PROTEINS_OPS)
    assert proteins.simplify()["op0"].values == list(PROTEINS_OPS)
    table = load_table("pubmed")
    assert table.regret(table.optimum.valid_accuracy) == 0
    assert table.regret(table.optimum.valid_accuracy - 0.01) == pytest.approx(1.0)


def test_experiment_records_the_table_values(tmp_path):
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=12,
                                 experiment_working_directory=str(tmp_path))
    exp = NasExperiment(NasBenchGraphSpace(), NasBenchGraphEvaluator("computers"), Random(seed=3), config)
    exp.run()
    models = exp.strategy.list_models()
    assert len(models) == 12
    table = load_table("computers")
    for model in models:
        record = table.query_sample(model.sample)
        assert model.metric == record.valid_accuracy
        assert model.metrics.final["test_accuracy"] == record.test_accuracy
        assert model.metrics.final["train_seconds"] == pytest.approx(record.train_seconds)
    assert models[0].metric == max(m.metric for m in models)


@pytest.mark.slow
def test_lookup_runs_in_trial_processes(tmp_path):
    config = NasExperimentConfig("ts", "simplified", "local", max_trial_number=4, trial_concurrency=2,
                                 experiment_working_directory=str(tmp_path))
    exp = NasExperiment(NasBenchGraphSpace(), NasBenchGraphEvaluator("cora"), Random(seed=0), config)
    exp.run()
    records = list(exp.store.models())
    assert len(records) == 4
    for record in records:
        assert record.status == "trained"
        assert record.final == load_table("cora").query_sample(record.sample).metrics()


def test_datasets_all_load():
    rng = random.Random(0)
    for dataset in DATASETS:
        table = load_table(dataset)
        ops = PROTEINS_OPS if dataset == "proteins" else OPS
        sample = {f"op{i}": rng.choice(ops[:-1]) for i in range(4)} | {"link1": 1, "link2": 2, "link3": 3}
        assert 0 < evaluate_sample(dataset, sample).valid_accuracy <= table.optimum.valid_accuracy


def test_canonical_samples_name_each_network_once():
    space, table = NasBenchGraphSpace(), load_table("pubmed")
    canonical_of_key = {}
    for links in itertools.product(range(2), range(3), range(4)):
        for ops in itertools.islice(itertools.product(OPS, repeat=4), 0, None, 37):
            sample = {"op0": ops[0], "op1": ops[1], "op2": ops[2], "op3": ops[3],
                      "link1": links[0], "link2": links[1], "link3": links[2]}
            if set(ops) == {"skip"}:
                continue
            canonical = space.canonical_sample(sample)
            key = table.query_sample(sample).key
            assert table.query_sample(canonical).key == key  # the same network
            assert canonical_of_key.setdefault(key, canonical) == canonical  # one sample per network
            assert space.canonical_sample(canonical) == canonical
    assert len(canonical_of_key) < 24 * len(range(0, 9 ** 4, 37))  # isomorphic samples were merged


def test_strategies_never_evaluate_a_network_twice(tmp_path):
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=60,
                                 experiment_working_directory=str(tmp_path))
    exp = NasExperiment(NasBenchGraphSpace(), NasBenchGraphEvaluator("cora"), Random(seed=1), config)
    exp.run()
    keys = [load_table("cora").query_sample(m.sample).key for m in exp.strategy.list_models()]
    assert len(keys) == 60 and len(set(keys)) == 60
