"""nascore.seeding: the data order comes from its own seed, never from torch's global generator."""
import torch
from torch.utils.data import DataLoader, TensorDataset

from nascore.seeding import data_seed, seed_dataloaders, trial_seed


def _order(loader):
    return torch.cat([x for (x,) in loader]).tolist()


def test_seeded_loaders_shuffle_alike_and_leave_the_global_generator_alone():
    data = TensorDataset(torch.arange(20))
    first, second = DataLoader(data, batch_size=4, shuffle=True), DataLoader(data, batch_size=4, shuffle=True)
    seed_dataloaders([first, {"val": [second]}], 3)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    order = _order(first)
    assert torch.equal(torch.get_rng_state(), before)  # iterating drew nothing from the model's stream
    torch.manual_seed(1)  # whatever else ran in the process
    assert _order(second) == order and sorted(order) == list(range(20)) and order != list(range(20))
    seed_dataloaders([first], 3)  # a new trial starts the same order again
    assert _order(first) == order


def test_a_users_generator_wins_and_no_seed_changes_nothing():
    data = TensorDataset(torch.arange(20))
    own = torch.Generator().manual_seed(9)
    mine, plain = DataLoader(data, shuffle=True, generator=own), DataLoader(data, shuffle=True)
    seed_dataloaders([mine], 3)
    seed_dataloaders([plain], None)
    assert mine.generator is own and plain.generator is None


def test_the_data_seed_is_one_per_experiment_and_not_a_trial_seed():
    assert data_seed(5) == data_seed(5) != data_seed(6)
    assert data_seed(5) != trial_seed(5, {})


def test_a_datamodules_loaders_get_the_data_seed_while_fitting():
    import pytorch_lightning as pl

    from nascore.evaluator.lightning import _seeded_datamodule

    class Data(pl.LightningDataModule):
        def train_dataloader(self):
            return DataLoader(TensorDataset(torch.arange(20)), batch_size=4, shuffle=True)

    data = Data()
    with _seeded_datamodule(data, 3):
        inside = data.train_dataloader()
        assert "val_dataloader" not in vars(data)  # not defined by the user: left to Lightning
    expected = DataLoader(TensorDataset(torch.arange(20)), batch_size=4, shuffle=True)
    seed_dataloaders([expected], 3)
    assert _order(inside) == _order(expected)
    assert "train_dataloader" not in vars(data) and data.train_dataloader().generator is None  # restored
