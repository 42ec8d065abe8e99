"""Shared fixtures: tiny data sets generated in the standard on-disk formats, and tool runners.

Every test that starts other processes (:func:`run_tool`, ``_dist.run_distributed``, ``subprocess``), itself or through
one of its fixtures, is marked ``slow`` at collection, so ``pytest -m "not slow"`` is the fast inner loop and
``make test`` still runs everything. A long in-process test can carry an explicit ``@pytest.mark.slow``.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
os.environ.setdefault('MPLBACKEND', 'Agg')
_TESTS = osp.join(REPO, 'tests') + osp.sep
_STARTS_PROCESSES = {'run_tool', 'run_distributed', 'subprocess'}
# The task folders need their library: in the classification-only environment (`tools/setup.sh --stack cls`) they are
# not collected, and the report header says so (the full environment, `make test` and CI, collects everything).
_TASK_FOLDERS = {'seg': 'mmseg', 'det': 'mmdet'}
collect_ignore = [folder for folder, package in _TASK_FOLDERS.items() if importlib.util.find_spec(package) is None]


def pytest_report_header(config) -> list[str]:
    return [f'not collected: tests/{folder} ({_TASK_FOLDERS[folder]} is not installed)' for folder in collect_ignore]


def _names(code) -> set[str]:
    """Global names a code object and its nested functions / lambdas refer to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


def _starts_processes(func, seen: set) -> bool:
    """Does ``func``, or a function of the test suite it calls, use one of ``_STARTS_PROCESSES``?"""
    code = getattr(inspect.unwrap(func), '__code__', None)
    if code is None or code in seen:
        return False
    seen.add(code)
    names = _names(code)
    if names & _STARTS_PROCESSES:
        return True
    scope = getattr(inspect.unwrap(func), '__globals__', {})
    return any(_starts_processes(scope[n], seen) for n in names
               if inspect.isfunction(scope.get(n)) and scope[n].__code__.co_filename.startswith(_TESTS))


def pytest_collection_modifyitems(config, items) -> None:
    """Mark ``slow`` every test whose body, or one of whose fixtures, starts processes (see the module docstring)."""
    for item in items:
        func = getattr(item, 'function', None)
        if func is None or item.get_closest_marker('slow'):
            continue
        seen: set = set()
        fixtures = [d.func for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs
                    if inspect.unwrap(d.func).__code__.co_filename.startswith(_TESTS)]
        if any(_starts_processes(f, seen) for f in [func, *fixtures]):
            item.add_marker('slow')


def run_tool(*args: str, cwd: str = REPO, check: bool = True, env: dict | None = None,
             timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python <args>`` in a subprocess the way a user runs the tools; returns the completed process."""
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = REPO + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env.setdefault('OMP_NUM_THREADS', '1')
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(args)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}')
    return proc


def make_list_file_dataset(root: str, num_classes: int = 3, counts: tuple[int, ...] = (12, 6, 3),
                           n_test: int = 4, size: int = 16, seed: int = 0) -> dict:
    """Write a tiny long-tailed image data set as PNG files + `path label` list files (the ImageNet-LT format)."""
    import mmcv

    rng = np.random.default_rng(seed)
    lists = {'train': [], 'test': []}
    for split, per_class in (('train', counts), ('test', (n_test,) * num_classes)):
        for c in range(num_classes):
            for i in range(per_class[c]):
                rel = f'{split}/class{c}/{i:04d}.png'
                img = np.full((size, size, 3), 40 * c, np.uint8) + rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                mmcv.imwrite(img, osp.join(root, 'images', rel))
                lists[split].append(f'{rel} {c}')
    for split, lines in lists.items():
        with open(osp.join(root, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return dict(root=root, classes=[f'class{c}' for c in range(num_classes)], counts=list(counts))


@pytest.fixture
def tiny_list_dataset(tmp_path):
    return make_list_file_dataset(str(tmp_path / 'data'))


@pytest.fixture(autouse=True)
def fresh_default_scope(request):
    """Forget mmengine's DefaultScope instances before and after each test.

    A Runner registers its scope under ``<experiment>_<timestamp>``; two runners built in the same second from dict
    configs share that name, so the second silently gets the first one's scope, and a registry's ``build`` follows
    whatever scope an earlier test left current. Tests must not depend on their neighbours' scopes: each starts from one
    fresh scope of its task: mmseg under tests/seg, mmdet under tests/det, mmpretrain elsewhere.
    """
    from mmengine.registry import DefaultScope

    parts = request.node.path.parts
    scope = 'mmseg' if 'seg' in parts else 'mmdet' if 'det' in parts else 'mmpretrain'

    def reset() -> None:
        DefaultScope._instance_dict.clear()
        DefaultScope.get_instance('ltplug-tests', scope_name=scope)

    reset()
    yield
    reset()


def digits_run_cfg(work_dir: str, head: dict, *, evaluator: dict | None = None, dataset_type: str = 'DigitsLT',
                   max_epochs: int = 1, batch_size: int = 64, custom_hooks: list | None = None):
    """A Runner config for a tiny CifarResNet-8 run on the bundled long-tailed digits (IF 10), CPU, seconds.

    ``evaluator`` None: training only (no val / test loops); else val and test use it. Tests override the rest.
    """
    from mmengine.config import Config

    ds = dict(type=dataset_type, imb_factor=10, pipeline=[dict(type='PackInputs')])
    cfg = dict(
        default_scope='mmpretrain',
        work_dir=work_dir,
        model=dict(type='ImageClassifier', backbone=dict(type='CifarResNet', depth=8),
                   neck=dict(type='GlobalAveragePooling'), head=head,
                   data_preprocessor=dict(num_classes=10, mean=[78.0] * 3, std=[96.0] * 3)),
        train_dataloader=dict(batch_size=batch_size, num_workers=0, drop_last=True, dataset=dict(ds, split='train'),
                              sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=50), checkpoint=None),
        custom_hooks=list(custom_hooks or []),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0),
        log_level='WARNING',
    )
    if evaluator is not None:
        for split in ('val', 'test'):
            cfg[f'{split}_dataloader'] = dict(batch_size=200, num_workers=0, dataset=dict(ds, split=split),
                                              sampler=dict(type='DefaultSampler', shuffle=False))
            cfg[f'{split}_evaluator'] = evaluator
            cfg[f'{split}_cfg'] = dict()
    return Config(cfg)
