"""Policy-gradient reinforcement learning, the counterpart of NNI's ``PolicyBasedRL`` in plain torch.

A controller (a GRU cell reading the previous choice, one linear head per label, as in ENAS) samples one label
after another; each finished model's score is the reward of its episode. Every ``samples_per_update`` rewards
the policy takes a few PPO steps (clipped probability ratio, advantage = reward minus the batch mean over its
spread, entropy bonus). The ``score`` folds the metric's
direction in, so higher is always better. Categorical choices are actions as they are; other leaves (numerical,
multiple choice) are discretised to their grid at ``granularity``.
"""
from __future__ import annotations

import itertools
import logging
import random as _random
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import nn

from nascore.mutable import Categorical, Sample
from nascore.strategy.multi_trial import MultiTrialStrategy
from nascore.strategy.sampling import SavesRng, single_thread

__all__ = ["PolicyBasedRL"]

_logger = logging.getLogger(__name__)

#: most actions per label (a discretised leaf with more grid points keeps the first ones)
MAX_ACTIONS = 1000
#: proposals tried before a random untried sample is taken instead (repeats and constraint breaks)
MAX_REJECTED = 20


class _Controller(nn.Module):
    def __init__(self, sizes: List[int], hidden: int) -> None:
        super().__init__()
        self.sizes = sizes
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.embeddings = nn.ModuleList(nn.Embedding(n, hidden) for n in sizes)
        self.cell = nn.GRUCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in sizes)

    def forward(self, actions: Optional[torch.Tensor], generator: Optional[torch.Generator] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(actions, log-probabilities, entropies); samples when ``actions`` is None (batch of one)."""
        batch = 1 if actions is None else actions.shape[0]
        inputs, state = self.start.expand(batch, -1), None
        chosen, log_probs, entropies = [], [], []
        for i, head in enumerate(self.heads):
            state = self.cell(inputs, state)
            logits = head(state).log_softmax(-1)
            if actions is None:
                action = torch.multinomial(logits.exp(), 1, generator=generator).squeeze(1)
            else:
                action = actions[:, i]
            chosen.append(action)
            log_probs.append(logits.gather(1, action[:, None]).squeeze(1))
            entropies.append(-(logits.exp() * logits).sum(-1))
            inputs = self.embeddings[i](action)
        return torch.stack(chosen, 1), torch.stack(log_probs, 1).sum(1), torch.stack(entropies, 1).sum(1)


class PolicyBasedRL(SavesRng, MultiTrialStrategy):
    """PPO over an autoregressive controller.

    ``samples_per_update``: rewards per policy update (None: a twentieth of ``max_trial_number``, 4 to 20; 20
    without a limit, NNI's default). ``update_epochs``, ``learning_rate``, ``clip`` and ``entropy_weight`` are the
    PPO settings; ``hidden_size`` the controller's width; ``granularity`` how finely non-categorical leaves are
    discretised. A proposal already tried is not run again: its known
    reward joins the next update and the controller samples anew; a proposal that breaks a constraint gets the
    worst reward seen so far.
    """

    def __init__(self, samples_per_update: Optional[int] = None, update_epochs: int = 5,
                 learning_rate: float = 0.01, clip: float = 0.2, entropy_weight: float = 0.01,
                 hidden_size: int = 32, granularity: int = 4, dedup: bool = True,
                 seed: Optional[int] = None) -> None:
        super().__init__(dedup=dedup)
        if samples_per_update is not None and samples_per_update < 1:
            raise ValueError(f"samples_per_update must be >= 1 (or None to size it to the budget), "
                             f"got {samples_per_update}")
        self.samples_per_update = samples_per_update
        self.update_epochs = update_epochs
        self.learning_rate = learning_rate
        self.clip = clip
        self.entropy_weight = entropy_weight
        self.hidden_size = hidden_size
        self.granularity = granularity
        self.seed = seed
        self.rng = _random.Random(seed)
        self._labels: List[str] = []
        self._values: List[List[Any]] = []
        self._controller: Optional[_Controller] = None
        self._optimizer: Optional[torch.optim.Optimizer] = None
        self._generator = torch.Generator()
        self._rewards: Dict[str, float] = {}          # sample key -> score of a finished sample
        self._batch: List[Tuple[List[int], float]] = []  # (actions, reward) waiting for an update

    # ---- controller --------------------------------------------------------------------------------------
    def _build(self) -> None:
        assert self.space is not None
        self._labels, self._values = [], []
        for label, leaf in self.space.symbols.items():
            values = list(leaf.values) if isinstance(leaf, Categorical) else \
                list(itertools.islice(leaf.grid_values(self.granularity), MAX_ACTIONS))
            if not values:
                raise ValueError(f"PolicyBasedRL found no value to choose for leaf {label!r}")
            self._labels.append(label)
            self._values.append(values)
        seed = self.rng.randrange(2 ** 31)
        self._generator.manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._controller = _Controller([len(v) for v in self._values], self.hidden_size)
        self._optimizer = torch.optim.Adam(self._controller.parameters(), lr=self.learning_rate)

    def _per_update(self) -> int:
        if self.samples_per_update is not None:
            return self.samples_per_update
        budget = self.trial_budget()
        return 20 if budget is None else max(4, min(20, budget // 20))

    def _encode(self, sample: Sample) -> Optional[List[int]]:
        try:
            return [next(i for i, v in enumerate(values) if v == sample[label])
                    for label, values in zip(self._labels, self._values)]
        except (KeyError, StopIteration):
            return None  # a sample of another space (an old state)

    def _update(self) -> None:
        assert self._controller is not None and self._optimizer is not None
        actions = torch.tensor([a for a, _ in self._batch])
        rewards = torch.tensor([r for _, r in self._batch], dtype=torch.float32)
        self._batch = []
        advantage = (rewards - rewards.mean()) / (rewards.std(unbiased=False) + 1e-8)
        with torch.no_grad():
            _, old_log_prob, _ = self._controller(actions)
        for _ in range(self.update_epochs):
            _, log_prob, entropy = self._controller(actions)
            ratio = (log_prob - old_log_prob).exp()
            surrogate = torch.min(ratio * advantage, ratio.clamp(1 - self.clip, 1 + self.clip) * advantage)
            loss = -(surrogate.mean() + self.entropy_weight * entropy.mean())
            self._optimizer.zero_grad()
            loss.backward()
            self._optimizer.step()

    def _learn(self, sample: Sample, reward: float) -> None:
        actions = self._encode(sample)
        if actions is None or reward == float("-inf"):
            return
        self._batch.append((actions, reward))
        if len(self._batch) >= self._per_update():
            self._update()

    def _worst(self) -> float:
        finite = [r for r in self._rewards.values() if r != float("-inf")]
        return min(finite) if finite else 0.0

    # ---- MultiTrialStrategy ------------------------------------------------------------------------------
    def rebuild(self) -> None:
        self._build()
        self._rewards, self._batch = {}, []
        with single_thread():
            for record in self.results:
                self.on_result(record["sample"], record["metric"], record["status"], replayed=True)

    def on_result(self, sample: Sample, metric: Optional[float], status: str, replayed: bool) -> None:
        if self._controller is None:
            return  # before initialize: rebuild() replays every result
        score = self.score(metric)
        self._rewards[self.key(sample)] = score
        with single_thread():
            self._learn(sample, score if score != float("-inf") else self._worst())

    def propose(self) -> Optional[Sample]:
        assert self._controller is not None and self.space is not None
        with self.lock, single_thread():
            taught = set()
            for _ in range(MAX_REJECTED):
                with torch.no_grad():
                    actions, _, _ = self._controller(None, self._generator)
                sample = {label: values[int(a)] for label, values, a in zip(self._labels, self._values, actions[0])}
                if not self.space.satisfies_checks(sample):
                    self._learn(sample, self._worst())
                    continue
                key = self.key(sample)
                if self.dedup and self.is_tried(sample):
                    if key in self._rewards and key not in taught:
                        taught.add(key)
                        self._learn(sample, self._rewards[key])  # a known result teaches without a trial
                    continue
                return sample
            return self.draw_untried(self.rng)

    def __repr__(self) -> str:
        return f"PolicyBasedRL(samples_per_update={self.samples_per_update}, seed={self.seed})"
