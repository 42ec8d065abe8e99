"""Sampler plans (ltplug.core.sampling): distributions (chi-square), the official structures, exact stream indexing."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ltplug.core import sampling as S

P_MIN = 1e-3  # chi-square tests: fixed seeds, so deterministic; a correct sampler gives p >> 1e-3 here


def lt_labels(counts, seed=0):
    return np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))


COUNTS = np.array([200, 120, 60, 30, 15, 8, 4, 2])
LABELS = lt_labels(COUNTS)
INDEX = S.build_class_index(LABELS)


def test_class_index_groups_by_label():
    idx = INDEX
    assert idx.counts.tolist() == COUNTS.tolist()
    for c in range(len(COUNTS)):
        members = idx.order[idx.starts[c]:idx.starts[c] + idx.counts[c]]
        assert np.all(LABELS[members] == c) and members.size == COUNTS[c]


def test_instance_balanced_is_a_permutation_and_chains():
    n = LABELS.size
    p = S.instance_balanced_plan(n, n, seed=3, epoch=0)
    assert np.array_equal(np.sort(p), np.arange(n))
    assert not np.array_equal(p, S.instance_balanced_plan(n, n, seed=3, epoch=1))
    assert np.array_equal(p, S.instance_balanced_plan(n, n, seed=3, epoch=0))
    long = S.instance_balanced_plan(n, 2 * n + 5, seed=3, epoch=0)
    assert np.array_equal(np.sort(long[:n]), np.arange(n)) and np.array_equal(np.sort(long[n:2 * n]), np.arange(n))


# ---------------------------------------------------------------- class-balanced (ClassAwareSampler)
def naive_class_aware_epochs(counts_order, num_classes, seed, length, epochs, k=4):
    """Step-by-step reference of the official ClassAwareSampler over several epochs, with the same per-pass shuffles.

    The class and item iterators persist across epochs; each epoch is a fresh ``class_aware_sample_generator`` (block
    position j back to 0) stopped after ``length`` items; a block draws all k items of its class when it starts.
    """
    class_members = [counts_order.order[counts_order.starts[c]:counts_order.starts[c] + counts_order.counts[c]]
                     for c in range(num_classes)]

    def class_pass(p):
        return np.argsort(S.hash_keys(seed, S._TAG_CLASS_CYCLE, p, np.arange(num_classes)), kind='stable')

    def item_pass(c, q):
        n = class_members[c].size
        return np.argsort(S.hash_keys(seed, S._TAG_ITEM_CYCLE, c, q, np.arange(n)), kind='stable')

    class_pos = [0] * num_classes
    g = 0
    plans = []
    for _ in range(epochs):
        out: list[int] = []
        while len(out) < length:  # a new generator: the epoch starts a new block
            p, s = divmod(g, num_classes)
            c = int(class_pass(p)[s])
            block = []
            for _ in range(k):  # the official zip pulls k consecutive items of the class's own cyclic list
                n = class_members[c].size
                q, r = divmod(class_pos[c], n)
                block.append(int(class_members[c][item_pass(c, q)[r]]))
                class_pos[c] += 1
            g += 1
            out.extend(block[:length - len(out)])
        plans.append(np.array(out))
    return plans


@pytest.mark.parametrize('length', [3 * 4 * len(COUNTS) + 6, 3 * 4 * len(COUNTS) + 8])
def test_class_balanced_matches_the_step_by_step_reference(length):
    """Epoch lengths not a multiple of k (the last block is cut, the next epoch starts a new one) and a multiple."""
    ref = naive_class_aware_epochs(INDEX, len(COUNTS), seed=5, length=length, epochs=3)
    for epoch in range(3):
        plan = S.class_balanced_plan(INDEX, length, seed=5, epoch=epoch)
        assert np.array_equal(plan, ref[epoch])


def test_class_balanced_every_epoch_starts_a_block():
    """Issue 12 item 8: with L % k != 0 each epoch's first k items are one class (the official restart)."""
    k, length = 4, 4 * 25 + 2
    for epoch in range(6):
        first = LABELS[S.class_balanced_plan(INDEX, length, seed=3, epoch=epoch)[:k]]
        assert np.all(first == first[0]), (epoch, first)


def test_run_seed_is_a_function_of_seed_epoch_rank():
    seeds = {S.run_seed(s, e, r) for s in (0, 1) for e in range(4) for r in range(2)}
    assert len(seeds) == 16 and all(0 <= x < 2 ** 63 for x in seeds)
    assert S.run_seed(7, 3, 1) == S.run_seed(7, 3, 1)


def test_class_balanced_structure():
    k, c = 4, len(COUNTS)
    stream = np.concatenate([S.class_balanced_plan(INDEX, 200, seed=1, epoch=e) for e in range(5)])
    labels = LABELS[stream]
    groups = labels.reshape(-1, k)
    assert np.all(groups == groups[:, :1])  # k consecutive items per visited class
    visits = groups[:, 0]
    full = visits[: (visits.size // c) * c].reshape(-1, c)
    for row in full:  # every full pass visits each class exactly once ...
        assert sorted(row.tolist()) == list(range(c))
    assert not all(np.array_equal(full[0], r) for r in full[1:])  # ... in a reshuffled order
    # each class's items: consecutive runs of n_c form permutations of the class (cyclic, reshuffled each pass)
    for cls in range(c):
        items = stream[labels == cls]
        n = COUNTS[cls]
        members = np.sort(INDEX.order[INDEX.starts[cls]:INDEX.starts[cls] + n])
        for q in range(items.size // n):
            assert np.array_equal(np.sort(items[q * n:(q + 1) * n]), members)
    short = stream[labels == len(COUNTS) - 1]
    assert not all(np.array_equal(short[:2], short[i:i + 2]) for i in range(2, short.size - 1, 2))


def test_class_balanced_distribution_chi_square():
    stream = S.class_balanced_plan(INDEX, 4 * len(COUNTS) * 250, seed=2, epoch=0)
    obs = np.bincount(LABELS[stream], minlength=len(COUNTS))
    assert obs.max() - obs.min() <= 4  # the class cycle balances exactly up to one group
    assert stats.chisquare(obs).pvalue > P_MIN
    within = np.bincount(stream[LABELS[stream] == 1], minlength=LABELS.size)[INDEX.order[INDEX.starts[1]:][:120]]
    assert stats.chisquare(within).pvalue > P_MIN


def test_class_balanced_rejects_empty_classes():
    idx = S.build_class_index(np.array([0, 0, 2, 2]))
    with pytest.raises(ValueError, match=r'class\(es\) have no training samples.*\[1\]'):
        S.class_balanced_plan(idx, 8, seed=0, epoch=0)


# ---------------------------------------------------------------- power / square-root
@pytest.mark.parametrize('q', [0.0, 0.5, 1.0])
def test_power_sampler_class_distribution_chi_square(q):
    n = 40000
    plan = S.power_plan(INDEX, n, seed=11, epoch=0, q=q)
    obs = np.bincount(LABELS[plan], minlength=len(COUNTS))
    w = COUNTS.astype(np.float64) ** q
    expected = n * w / w.sum()
    assert stats.chisquare(obs, expected).pvalue > P_MIN
    # uniform items inside a class (with replacement)
    cls = 2
    members = INDEX.order[INDEX.starts[cls]:INDEX.starts[cls] + COUNTS[cls]]
    within = np.bincount(plan[LABELS[plan] == cls], minlength=LABELS.size)[members]
    assert stats.chisquare(within).pvalue > P_MIN


def test_power_sampler_rejects_a_wrong_law():
    n = 40000
    plan = S.power_plan(INDEX, n, seed=11, epoch=0, q=0.5)
    obs = np.bincount(LABELS[plan], minlength=len(COUNTS))
    w = COUNTS.astype(np.float64)  # instance-balanced law: must be rejected for q = 0.5
    assert stats.chisquare(obs, n * w / w.sum()).pvalue < 1e-6


# ---------------------------------------------------------------- progressively balanced
def test_progressive_lambda_schedule():
    e_total = 90
    lams = [S.progressive_lambda(e, e_total) for e in range(e_total)]
    assert np.allclose(lams, np.linspace(0, 1, e_total), rtol=0, atol=1e-15)
    assert lams[0] == 0.0 and lams[-1] == 1.0 and lams[1] == pytest.approx(1 / 89)
    assert S.progressive_lambda(120, e_total) == 1.0
    assert S.progressive_lambda(0, 1) == 0.0


@pytest.mark.parametrize('epoch', [0, 4, 9])
def test_progressive_distribution_chi_square(epoch):
    e_total, n = 10, 30000
    plan = S.progressive_plan(INDEX, n, seed=4, epoch=epoch, num_epochs=e_total)
    obs = np.bincount(LABELS[plan], minlength=len(COUNTS))
    lam = epoch / (e_total - 1)
    p = (1 - lam) * COUNTS / COUNTS.sum() + lam / len(COUNTS)
    assert stats.chisquare(obs, n * p).pvalue > P_MIN
    if epoch == 0:  # pure instance-balanced in law
        assert stats.chisquare(obs, n * COUNTS / COUNTS.sum()).pvalue > P_MIN
    if epoch == 9:  # pure class-balanced in law
        assert stats.chisquare(obs).pvalue > P_MIN


def test_progressive_items_continue_the_cyclic_lists_across_epochs():
    e_total, n = 5, 500
    stream = np.concatenate([S.progressive_plan(INDEX, n, seed=8, epoch=e, num_epochs=e_total) for e in range(e_total)])
    labels = LABELS[stream]
    for cls in range(len(COUNTS)):
        items = stream[labels == cls]
        size = COUNTS[cls]
        members = np.sort(INDEX.order[INDEX.starts[cls]:INDEX.starts[cls] + size])
        for q in range(items.size // size):
            assert np.array_equal(np.sort(items[q * size:(q + 1) * size]), members)
    assert np.array_equal(stream[n:2 * n], S.progressive_plan(INDEX, n, seed=8, epoch=1, num_epochs=e_total))


# ---------------------------------------------------------------- distributed shares
@pytest.mark.parametrize('world,block', [(2, 1), (3, 1), (2, 4), (4, 3)])
def test_shards_are_disjoint_equal_and_cover_the_plan(world, block):
    total, per_rank = S.plan_lengths(1001, world, block)
    assert total == per_rank * world and total >= 1001 and per_rank % block == 0
    assert total - 1001 < world * block
    plan = np.arange(total) * 7  # any plan; positions are what is shared out
    shares = [S.shard_plan(plan, r, world, block) for r in range(world)]
    assert all(s.size == per_rank for s in shares)
    merged = np.concatenate(shares)
    assert np.array_equal(np.sort(merged), np.sort(plan))
    # step i of all ranks together is the i-th block-row of the plan
    rows = plan.reshape(-1, world * block)
    for r, s in enumerate(shares):
        assert np.array_equal(s.reshape(-1, block), rows[:, r * block:(r + 1) * block])


def test_plan_lengths_single_process_is_exact():
    assert S.plan_lengths(1001, 1, 8) == (1001, 1001)
    with pytest.raises(ValueError):
        S.plan_lengths(0, 1)


def test_hash_keys_are_uniform_enough():
    keys = S.hash_keys(123, 7, np.arange(20000))
    buckets = np.bincount((keys >> np.uint64(60)).astype(np.int64), minlength=16)
    assert stats.chisquare(buckets).pvalue > P_MIN
    assert np.unique(keys).size == keys.size
