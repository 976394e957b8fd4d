"""nascore quickstart: search a small CNN space on scikit-learn's digits with random search.

    python examples/quickstart.py

Runs 12 trials, two at a time, each in a worker process (execution engine "ts" on the "local" training
service, the default for multi-trial strategies), then prints the best models and where the experiment's store
is. Inspect it afterwards with ``nascore view <dir>`` / ``nascore export <dir> --top-k 3`` / ``nascore plot``.
Experiments go to ~/nascore-experiments unless NASCORE_EXPERIMENT_DIR names another folder.
"""
from torch.utils.data import DataLoader

import nascore
from nascore.evaluator import Classification, digits_dataset
from nascore.experiment import NasExperiment, NasExperimentConfig
from nascore.strategy import Random

# The model space lives in an importable module: trial processes import it by name.
from digits_space import DigitsNet


def main() -> NasExperiment:
    # nascore.trace records how the loaders were built, so each trial process can rebuild them.
    train = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("train"), batch_size=64, shuffle=True)
    val = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("val"), batch_size=256)
    evaluator = Classification(learning_rate=1e-2, train_dataloaders=train, val_dataloaders=val, max_epochs=10)

    config = NasExperimentConfig(
        max_trial_number=12,
        trial_concurrency=2,
    )
    experiment = NasExperiment(DigitsNet(), evaluator, Random(seed=0), config)
    experiment.run()

    print("\nbest models (validation accuracy):")
    for model in experiment.export_top_models(top_k=3):
        print(f"  #{model.model_id}  {model.metric:.4f}  {model.sample}")
    print(f"\nstore: {experiment.directory}")
    print(f"try:   nascore view {experiment.directory}")
    return experiment


if __name__ == "__main__":
    main()
