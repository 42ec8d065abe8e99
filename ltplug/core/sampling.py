"""Epoch plans of the long-tailed samplers of Kang et al. (classifier-balancing), vectorised numpy.

A *plan* is the sequence of dataset indices one epoch visits, a pure function of (labels, seed, epoch, length):

- instance-balanced (IB): a plain shuffle (concatenated permutations when the epoch is longer than the data set);
- class-balanced (CB, ``ClassAwareSampler``): classes come from a cyclic iterator over a shuffled class list,
  reshuffled at each full pass; every visited class gives ``num_samples_cls`` consecutive items of its own cyclic,
  reshuffled item list; every epoch starts a new block (the official ``__iter__`` builds a fresh generator);
- power / square-root (``MixedPrioritizedSampler``): i.i.d. draws with replacement, class probability ~ n_c^q;
- progressively-balanced (PB, ``ClassPrioritySampler``): i.i.d. classes with p_c = (1 - lam) n_c / N + lam / C, the item
  being the next one of the class's cyclic, reshuffled list; epoch e (0-based) of E uses lam = e / (E - 1).

The official samplers keep their cyclic iterators alive across epochs. Here every cyclic list is a *random-access*
stream (the shuffle of the q-th pass over a list is a counter-based hash of (seed, list, q)), so epoch e's plan is
exactly what the official iterators would produce at epoch e, without replaying earlier epochs: resuming, ``set_epoch``
and distributed ranks all see the same stream. No Python loop over samples or classes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# tags that make the hash streams of different purposes independent
_TAG_CLASS_CYCLE = 0x1C1A55
_TAG_ITEM_CYCLE = 0x17E3
_TAG_RNG = {'ib': 11, 'power': 13, 'pb': 17}
_TAG_RUN_SEED = 0x5EED

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective, well-mixing map of uint64 arrays (wrap-around arithmetic)."""
    x = np.asarray(x, dtype=np.uint64) + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def exponential_profile(n_max: int, imb_factor: float, num_classes: int) -> np.ndarray:
    """Long-tailed class sizes n_i = int(n_max * (1/imb_factor)^(i/(C-1))), i = 0..C-1 (class 0 the head).

    Python floats and ``int()`` truncation, exactly as the official ``get_img_num_per_cls``
    (CIFAR-LT, docs/methods.md §0.2).
    """
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    if not imb_factor >= 1:
        raise ValueError(f"imb_factor must be >= 1 (n_max / n_min; the official code's 0.01 is imb_factor=100), "
                         f'got {imb_factor}')
    if n_max < 1:
        raise ValueError(f'n_max must be >= 1, got {n_max}')
    if num_classes == 1:
        return np.array([int(n_max)], dtype=np.int64)
    ratio = 1.0 / imb_factor
    exponents = np.arange(num_classes) / (num_classes - 1.0)
    return np.array([int(n_max * ratio ** float(x)) for x in exponents], dtype=np.int64)


def hash_keys(*parts, prefix: np.ndarray | None = None) -> np.ndarray:
    """Counter-based pseudo-random uint64 keys from integer (array) parts, broadcast together.

    ``hash_keys(a, b, c) == hash_keys(c, prefix=hash_keys(a, b))``: a shared prefix can be hashed once.
    """
    with np.errstate(over='ignore'):
        h = np.zeros((), dtype=np.uint64) if prefix is None else np.asarray(prefix, dtype=np.uint64)
        for part in parts:
            h = _mix(h ^ np.asarray(part).astype(np.uint64))
    return h


def run_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A 63-bit seed for the global random generators of a run's epoch on one rank, a pure function of the three.

    Seeding the generators from this at every epoch start makes training 2 + 2 epochs (resumed) draw the same
    augmentation and dropout randomness as 4 epochs in one go, whatever ran in between (validation, saving).
    """
    key = hash_keys(int(seed) & 0xFFFFFFFFFFFFFFFF, _TAG_RUN_SEED, int(epoch), int(rank))
    return int(key >> np.uint64(1))


def epoch_rng(seed: int, epoch: int, kind: str) -> np.random.Generator:
    """A numpy Generator determined by (seed, epoch, sampler kind)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, int(epoch), _TAG_RNG[kind]])


@dataclass(frozen=True)
class ClassIndex:
    """Dataset indices grouped by class: ``order[starts[c]:starts[c] + counts[c]]`` are class c's samples."""

    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @property
    def num_classes(self) -> int:
        return int(self.counts.size)

    @property
    def num_samples(self) -> int:
        return int(self.order.size)


def build_class_index(labels: np.ndarray, num_classes: int | None = None) -> ClassIndex:
    """Group sample indices by label (one stable argsort)."""
    labels = np.asarray(labels).reshape(-1)
    if labels.size == 0:
        raise ValueError('sampler: the data set is empty')
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f'sampler: labels must be integers, got dtype {labels.dtype}')
    if labels.min() < 0:
        raise ValueError(f'sampler: negative label {int(labels.min())}')
    if num_classes is not None and labels.max() >= num_classes:
        raise ValueError(f'sampler: label {int(labels.max())} >= num_classes={num_classes}')
    labels = labels.astype(np.int64)
    counts = np.bincount(labels, minlength=num_classes or 0).astype(np.int64)
    order = np.argsort(labels, kind='stable').astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return ClassIndex(order=order, starts=starts, counts=counts)


def _require_nonempty(index: ClassIndex, who: str) -> None:
    empty = np.flatnonzero(index.counts == 0)
    if empty.size:
        raise ValueError(f'{who}: {empty.size} class(es) have no training samples (first: {empty[:10].tolist()}); '
                         'a class-based sampler cannot draw from them. Remove the classes or fix the labels.')


def cyclic_class_sequence(num_classes: int, visits: np.ndarray, seed: int) -> np.ndarray:
    """Class of the ``visits``-th step of a cyclic iterator over a class list reshuffled at every full pass."""
    visits = np.asarray(visits, dtype=np.int64)
    passes = visits // num_classes
    uniq, inverse = np.unique(passes, return_inverse=True)
    keys = hash_keys(seed, _TAG_CLASS_CYCLE, uniq[:, None], np.arange(num_classes)[None, :])  # P x C
    perms = np.argsort(keys, axis=1, kind='stable')
    return perms[inverse.reshape(-1), visits % num_classes]


def cyclic_items(index: ClassIndex, classes: np.ndarray, positions: np.ndarray, seed: int) -> np.ndarray:
    """Dataset index at stream position ``positions[k]`` of class ``classes[k]``'s cyclic, per-pass reshuffled list.

    Position t of class c lies in pass q = t // n_c at rank t % n_c of that pass's shuffle. Only the (class, pass)
    shuffles that are needed are built, all at once: one lexsort over their concatenation.
    """
    classes = np.asarray(classes, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    if classes.size == 0:
        return np.zeros(0, dtype=np.int64)
    n = index.counts[classes]
    if np.any(n == 0):
        raise ValueError('cyclic_items: asked for an item of a class without samples')
    cycles = positions // n
    ranks = positions - cycles * n
    pair_code = classes * (int(cycles.max()) + 1) + cycles
    uniq, inverse = np.unique(pair_code, return_inverse=True)
    inverse = inverse.reshape(-1)
    u_class = uniq // (int(cycles.max()) + 1)
    u_cycle = uniq - u_class * (int(cycles.max()) + 1)
    u_size = index.counts[u_class]
    u_offset = np.concatenate([[0], np.cumsum(u_size)[:-1]])
    total = int(u_size.sum())
    owner = np.repeat(np.arange(uniq.size), u_size)
    within = np.arange(total, dtype=np.int64) - u_offset[owner]
    keys = hash_keys(within, prefix=hash_keys(seed, _TAG_ITEM_CYCLE, u_class, u_cycle)[owner])
    if uniq.size < (1 << 24):  # one argsort of (group id, top 40 key bits): several times faster than lexsort
        perm = np.argsort((owner.astype(np.uint64) << np.uint64(40)) | (keys >> np.uint64(24)))
    else:
        perm = np.lexsort((keys, owner))  # grouped by (class, pass), random order inside each group
    shuffled_within = within[perm]
    member = shuffled_within[u_offset[inverse] + ranks]
    return index.order[index.starts[classes] + member]


def plan_lengths(num_samples: int, world_size: int, block_size: int = 1) -> tuple[int, int]:
    """(global length, per-rank length): ``num_samples`` in total, padded to equal per-rank shares of whole blocks."""
    if num_samples < 1:
        raise ValueError(f'num_samples must be >= 1, got {num_samples}')
    if world_size < 1 or block_size < 1:
        raise ValueError(f'world_size and block_size must be >= 1, got {world_size}, {block_size}')
    if world_size == 1:
        return num_samples, num_samples
    per_rank = -(-num_samples // world_size)
    per_rank = -(-per_rank // block_size) * block_size
    return per_rank * world_size, per_rank


def shard_plan(plan: np.ndarray, rank: int, world_size: int, block_size: int = 1) -> np.ndarray:
    """Rank ``rank``'s share: blocks of ``block_size`` consecutive items dealt round-robin to the ranks.

    ``block_size=1`` interleaves like mmengine's DefaultSampler (step i of all ranks together = global batch i of the
    plan); ``block_size = per-rank batch`` gives each rank a contiguous chunk of every global batch (like DataParallel's
    scatter).
    """
    plan = np.asarray(plan)
    if world_size == 1:
        return plan
    if plan.size % (world_size * block_size):
        raise ValueError(f'plan length {plan.size} is not a multiple of world_size * block_size '
                         f'({world_size * block_size})')
    return plan.reshape(-1, world_size, block_size)[:, rank, :].reshape(-1)


def instance_balanced_plan(num_samples_data: int, length: int, seed: int, epoch: int) -> np.ndarray:
    """Plain shuffle: ``length`` items from concatenated random permutations of range(N)."""
    rng = epoch_rng(seed, epoch, 'ib')
    reps = -(-length // num_samples_data)
    keys = rng.random((reps, num_samples_data))
    return np.argsort(keys, axis=1).reshape(-1)[:length].astype(np.int64)


def class_balanced_plan(index: ClassIndex, length: int, seed: int, epoch: int, num_samples_cls: int = 4) -> np.ndarray:
    """ClassAwareSampler plan of one epoch: ``length`` items from blocks [epoch G, (epoch + 1) G), G = ceil(L / k).

    Every epoch starts a fresh block of ``k = num_samples_cls`` items, as the official ``__iter__`` does; a block cut
    short by the end of an epoch still advances its class's item list by k (the official ``zip`` draws all k items).
    """
    _require_nonempty(index, 'ClassBalancedSampler')
    if num_samples_cls < 1:
        raise ValueError(f'num_samples_cls must be >= 1, got {num_samples_cls}')
    blocks = -(-length // num_samples_cls)  # blocks started per epoch
    t = np.arange(length, dtype=np.int64)
    group = epoch * blocks + t // num_samples_cls
    j = t % num_samples_cls
    classes = cyclic_class_sequence(index.num_classes, group, seed)
    visit = group // index.num_classes  # each pass visits every class once: the pass index is the class's visit count
    return cyclic_items(index, classes, visit * num_samples_cls + j, seed)


def power_class_probs(counts: np.ndarray, q: float) -> np.ndarray:
    """p_c proportional to n_c^q over classes with samples (q=1 instance-, 0.5 square-root-, 0 class-balanced)."""
    counts = np.asarray(counts, dtype=np.float64)
    w = np.where(counts > 0, np.power(counts, q, where=counts > 0, out=np.zeros_like(counts)), 0.0)
    return w / w.sum()


def power_plan(index: ClassIndex, length: int, seed: int, epoch: int, q: float = 0.5) -> np.ndarray:
    """i.i.d. with replacement: class ~ n_c^q, then a uniform item of that class (per-instance weight n_c^q / n_c)."""
    rng = epoch_rng(seed, epoch, 'power')
    p = power_class_probs(index.counts, q)
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    classes = np.searchsorted(cdf, rng.random(length), side='right')
    classes = np.minimum(classes, index.num_classes - 1)
    member = np.floor(rng.random(length) * index.counts[classes]).astype(np.int64)
    return index.order[index.starts[classes] + member]


def progressive_lambda(epoch: int, num_epochs: int) -> float:
    """lam of 0-based epoch e: linspace(0, 1, E)[e] = e / (E - 1) (first epoch IB, last CB), held at 1 after E."""
    if num_epochs < 1:
        raise ValueError(f'num_epochs must be >= 1, got {num_epochs}')
    if num_epochs == 1:
        return 0.0
    return float(min(max(epoch, 0), num_epochs - 1)) / (num_epochs - 1)


def progressive_class_probs(counts: np.ndarray, lam: float) -> np.ndarray:
    """p_c = (1 - lam) n_c / N + lam / C (class weight lam N / C + (1 - lam) n_c, normalised)."""
    counts = np.asarray(counts, dtype=np.float64)
    p = (1.0 - lam) * counts / counts.sum() + lam / counts.size
    return p / p.sum()


def _pb_epoch_counts(index: ClassIndex, length: int, seed: int, epoch: int, num_epochs: int) -> np.ndarray:
    p = progressive_class_probs(index.counts, progressive_lambda(epoch, num_epochs))
    return epoch_rng(seed, epoch, 'pb').multinomial(length, p)


def progressive_plan(index: ClassIndex, length: int, seed: int, epoch: int, num_epochs: int) -> np.ndarray:
    """ClassPrioritySampler: i.i.d. classes with the epoch's PB probabilities, items from per-class cyclic streams.

    The draws of an epoch are generated as multinomial counts plus a random order (the same law as i.i.d. draws), so the
    per-class stream offsets of earlier epochs are cheap to recompute (one multinomial over C per earlier epoch).
    """
    _require_nonempty(index, 'ProgressivelyBalancedSampler')
    offsets = np.zeros(index.num_classes, dtype=np.int64)
    for e in range(epoch):  # loop over epochs (not samples/classes): O(epoch * C)
        offsets += _pb_epoch_counts(index, length, seed, e, num_epochs)
    rng = epoch_rng(seed, epoch, 'pb')
    p = progressive_class_probs(index.counts, progressive_lambda(epoch, num_epochs))
    counts = rng.multinomial(length, p)
    classes = rng.permutation(np.repeat(np.arange(index.num_classes), counts))
    by_class = np.argsort(classes, kind='stable')
    rank = np.empty(length, dtype=np.int64)
    rank[by_class] = np.arange(length) - np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return cyclic_items(index, classes, offsets[classes] + rank, seed)
