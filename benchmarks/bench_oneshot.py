"""One-shot supernet cost: one supernet training epoch vs one epoch of the largest single candidate.

Targets (from the issue): RandomOneShot <= 1.5x, DARTS <= 3x, where the DARTS epoch includes its
architecture steps, on the benchmark space ``MobileSpace`` (``oneshot_spaces.py``: every construct the
issue lists -- LayerChoice, InputChoice, kernel-size and channel value choices shared by slicing, Repeat
depth). The same is measured, without a target, on ``DartsCellSpace``, whose choices are DARTS's six
heterogeneous cell ops. Run: ``python -m benchmarks oneshot`` (about three minutes on 2 cores).

Protocol: CIFAR-sized random batches (3x32x32, batch 64); both sides run the same loop shape, batches,
Adam and gradient clipping, interleaved (median of ``REPEATS``), once in channels_last layout (weights and
batches NHWC on both sides; the trainer's ``channels_last=True``) and once in the default NCHW layout.
DARTS gets a validation loader as large as the training loader, so its epoch is one weight step and one
architecture step per training batch. Torch runs one intra-op thread (``NASCORE_BENCH_THREADS`` to
change; 0 keeps torch's default): on this shared 2-core machine a 2-thread pool stalls at every op while
another process holds a core, which turns the ratio into a measure of the machine's load.

What the figures say (this 2-core machine, channels_last, 1 thread; the note on the issue has the runs):

* MobileSpace: DARTS mixes a sliced layer's candidate *weights* (``sum_c p_c * mask_c * W``) and runs it
  once at the largest size, and runs the deepest Repeat once, taking each depth's output on the way; so a
  DARTS weight step costs about one step of the largest candidate (``darts_weight_steps_only`` ~1.0x) and
  the architecture step about as much again: DARTS ~2.1x. RandomOneShot trains one sampled path, ~0.3x.
* DartsCellSpace: a DARTS weight step must run all six ops. ``all_candidates_plain`` is that network in
  plain torch with no search machinery, ~2.4x the largest candidate (on a CPU the pools, BN and ReLU of
  the other five ops cost as much as the 5x5 conv again); the plugin's weight step is within a few
  percent of it, and the architecture step (forward of every op, then input gradients only: the weights
  are frozen there) adds ~0.8x of a weight step, so exact first-order DARTS lands at ~2.4 x 1.8 = ~4.4x
  and no implementation of it can go much below. In NCHW torch's CPU pooling kernels are several times
  slower, ~6.3x.
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn as nn

from benchmarks.oneshot_spaces import CELL_LARGEST, MOBILE_LARGEST, AllCandidates, DartsCellSpace, MobileSpace

BATCH_SIZE, REPEATS, SIZE = 64, 5, 32
# (space class, its largest candidate, training batches per epoch: fewer for the costlier MobileSpace)
SPACES = {"mobile": (MobileSpace, MOBILE_LARGEST, 3), "darts_cell": (DartsCellSpace, CELL_LARGEST, 6)}
LIMITS = {"mobile": {"random": 1.5, "darts": 3.0}, "darts_cell": {}}
LAYOUTS = {"channels_last": torch.channels_last, "nchw": torch.contiguous_format}


def _loaders(layout: torch.memory_format, batches: int) -> tuple:
    g = torch.Generator().manual_seed(0)
    n = batches * BATCH_SIZE
    x, y = torch.randn(n, 3, SIZE, SIZE, generator=g), torch.randint(0, 10, (n,), generator=g)
    # batches are materialised once (in the layout) so that both sides read the same tensors
    train = [(x[i:i + BATCH_SIZE].contiguous(memory_format=layout), y[i:i + BATCH_SIZE])
             for i in range(0, n, BATCH_SIZE)]
    val = [(a.flip(0).contiguous(memory_format=layout), b.flip(0)) for a, b in reversed(train)]
    return train, val


def _plain_epoch(model: nn.Module, loader: list, optimizer: torch.optim.Optimizer) -> float:
    criterion = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    return time.perf_counter() - start


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _measure(space_name: str, layout_name: str) -> List[Dict]:
    from nascore_oneshot import SupernetData, SupernetTrainer

    space_cls, largest_sample, batches = SPACES[space_name]
    layout = LAYOUTS[layout_name]
    cl = layout_name == "channels_last"
    torch.manual_seed(0)
    train, val = _loaders(layout, batches)
    data = SupernetData(train, val, max_epochs=1)
    largest = space_cls().freeze(largest_sample).to(memory_format=layout)
    largest_opt = torch.optim.Adam(largest.parameters(), lr=1e-3)
    runs: Dict[str, Callable[[], object]] = {"largest": lambda: _plain_epoch(largest, train, largest_opt)}
    if cl and space_name == "darts_cell":
        every = AllCandidates().to(memory_format=layout)
        every_opt = torch.optim.Adam(every.parameters(), lr=1e-3)
        runs["all_candidates_plain"] = lambda: _plain_epoch(every, train, every_opt)
    trainers = {"random": SupernetTrainer(space_cls(), data, "random", seed=0, channels_last=cl),
                "darts": SupernetTrainer(space_cls(), data, "darts", channels_last=cl)}
    if cl:  # diagnostic: DARTS weight steps alone (in warm-up DARTS takes no architecture steps)
        trainers["darts_weight_steps_only"] = SupernetTrainer(space_cls(), data, "darts", channels_last=cl,
                                                              warmup_epochs=10**9)
    runs.update({name: trainer.train_epoch for name, trainer in trainers.items()})
    for fn in runs.values():  # warm-up (allocator, oneDNN primitives)
        fn()
    times: Dict[str, List[float]] = {name: [] for name in runs}
    for _ in range(REPEATS):  # interleaved: the machine is shared and noisy
        for name, fn in runs.items():
            times[name].append(_timed(fn))
    base = statistics.median(times["largest"])
    results = []
    for name in runs:
        if name == "largest":
            continue
        ratio = statistics.median(times[name]) / base
        row = {"metric": f"{name}_epoch_vs_largest_candidate", "space": space_name, "layout": layout_name,
               "ratio": round(ratio, 3)}
        limit = LIMITS[space_name].get(name)
        if limit is not None:
            row.update(limit=limit, ok=ratio <= limit)
        row.update(batches=batches, batch_size=BATCH_SIZE, image=SIZE, threads=torch.get_num_threads(),
                   repeats=REPEATS, largest_epoch_s=round(base, 4),
                   supernet_epoch_s=round(statistics.median(times[name]), 4))
        results.append(row)
    return results


def run() -> List[Dict]:
    threads = int(os.environ.get("NASCORE_BENCH_THREADS", "1"))
    saved = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        return [row for space in SPACES for layout in LAYOUTS for row in _measure(space, layout)]
    finally:
        torch.set_num_threads(saved)


if __name__ == "__main__":
    import json
    for row in run():
        print(json.dumps({"benchmark": "oneshot", **row}), flush=True)
