"""Cross-graph optimization: candidate models that share a dataset train together, one batch read for all.

    python examples/cgo_search.py

The "cgo" middleware queues models for up to ``batch_waiting_time`` seconds, merges up to ``max_concurrency_cgo``
of them into one trial (the "dedup_input" optimizer feeds every model from one input pipeline), trains them side by
side and reports each model's metric back as if it had run alone. It needs the graph model format. With remote
machines, use NasExperimentConfig("cgo", "graph", "remote") and list them in config.training_service.machine_list.
"""
from torch.utils.data import DataLoader

import nascore
from nascore.evaluator import Classification, digits_dataset
from nascore.experiment import NasExperiment, NasExperimentConfig
from nascore.strategy import Random

from digits_space import DigitsNet


def main() -> NasExperiment:
    train = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("train"), batch_size=64, shuffle=True)
    val = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("val"), batch_size=256)
    evaluator = Classification(learning_rate=1e-2, train_dataloaders=train, val_dataloaders=val, max_epochs=3)

    config = NasExperimentConfig("cgo", "graph", "local", max_trial_number=8)
    config.max_concurrency_cgo = 4   # most models merged into one trial
    config.batch_waiting_time = 5    # seconds to wait for more models before merging
    experiment = NasExperiment(DigitsNet(), evaluator, Random(seed=0), config)
    experiment.run()

    print("\nbest models (validation accuracy):")
    for model in experiment.export_top_models(top_k=3):
        print(f"  #{model.model_id}  {model.metric:.4f}  {model.sample}")
    print(f"\nstore: {experiment.directory}")
    return experiment


if __name__ == "__main__":
    main()
