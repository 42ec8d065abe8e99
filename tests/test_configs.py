"""Every shipped config builds: its model, its optimiser wrapper and its train / val / test data sets.

Data sets are built on the real data where the repository has it (the bundled digits) and otherwise on a generated
stand-in in the same on-disk format (list files, CIFAR pickles, a tiny ADE20K / LVIS), with the config's own data set
type, pipeline and options; only the root (and, for the large sets, the sizes) change. Nothing trains. Separately,
every ``type=`` the builds do not reach (hooks, metrics, schedulers) must name a registered component.
"""
from __future__ import annotations

import copy
import glob
import importlib
import json
import os
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p.split(osp.sep))
IDS = [osp.relpath(p, osp.join(REPO, 'configs')) for p in CONFIGS]
LIST_DATASETS = {'ImageNetLT': 1000, 'PlacesLT': 365, 'INat2018LT': 8142}


def _registries(scope: str) -> list:
    """All registries of a scope (mmpretrain.registry, mmseg.registry, ...) plus mmengine's roots."""
    import mmengine.registry as root
    mod = importlib.import_module(f'{scope}.registry')
    regs = [getattr(mod, n) for n in dir(mod) if n.isupper() and hasattr(getattr(mod, n), 'get')]
    regs += [getattr(root, n) for n in dir(root) if n.isupper() and hasattr(getattr(root, n), 'get')]
    return regs


def _types(node, path: str = ''):
    """Yield (key path, type name) for every dict with a string `type` in a config tree."""
    if isinstance(node, dict):
        t = node.get('type')
        if isinstance(t, str):
            yield path, t
        for k, v in node.items():
            yield from _types(v, f'{path}.{k}' if path else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _types(v, f'{path}[{i}]')


def test_configs_found():
    assert len(CONFIGS) >= 40
    for method in ('vmf', 'decoupling', 'bcl', 'camc', 'lfn', 'vmf_ade20k', 'vmf_lvis'):
        assert osp.isfile(osp.join(REPO, 'configs', method, 'README.md')), method


def test_digits_configs_run_at_the_depth_their_name_says():
    """A config named ``..._cifar-resnetN_...`` builds a CifarResNet of depth N."""
    named = [p for p in CONFIGS if '_cifar-resnet' in osp.basename(p)]
    assert len(named) >= 15
    for path in named:
        depth = int(osp.basename(path).split('_cifar-resnet')[1].split('_')[0])
        cfg = Config.fromfile(path, import_custom_modules=False)
        assert cfg.model.backbone.type == 'CifarResNet' and cfg.model.backbone.depth == depth, path


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_config_types_are_registered(path):
    from mmengine.registry import init_default_scope

    import ltplug  # noqa: F401

    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope')
    assert scope in ('mmpretrain', 'mmseg', 'mmdet'), f'{path}: default_scope={scope!r}'
    assert 'ltplug' in cfg.get('custom_imports', {}).get('imports', []), f'{path}: no custom_imports of ltplug'
    init_default_scope(scope)
    regs = _registries(scope)
    missing = []
    for key, name in _types(cfg.to_dict()):
        if '.' in name:  # a python path like 'torch.optim.SGD' or a scoped name 'mmdet.X'
            scope_name, _, real = name.partition('.')
            if scope_name in ('mmpretrain', 'mmseg', 'mmdet', 'mmengine'):
                name = real
            else:
                continue
        if key.rsplit('.', 1)[-1] in ('roi_layer', 'nms'):  # mmdet looks these up in mmcv.ops, not in a registry
            import mmcv.ops
            if not hasattr(mmcv.ops, name):
                missing.append(f'{key}: {name} (not in mmcv.ops)')
            continue
        if not any(r.get(name) is not None for r in regs):
            missing.append(f'{key}: {name}')
    assert not missing, f'{path}: unregistered types {missing}'


# ---------------------------------------------------------------- generated stand-ins in the real on-disk formats
def _write_lists(root: str, names: dict[str, str], num_classes: int) -> None:
    """One ``path label`` line per class in every list (images are only read by the pipeline, not at build)."""
    os.makedirs(root, exist_ok=True)
    for name in set(names.values()):
        with open(osp.join(root, name), 'w') as f:
            f.write(''.join(f'img/{c}.png {c}\n' for c in range(num_classes)))


def _write_cifar(root: str, num_classes: int) -> None:
    """Standard python pickles with 2 training and 1 test image per class."""
    rng = np.random.default_rng(0)
    train = np.tile(np.arange(num_classes), 2)
    test = np.arange(num_classes)

    def data(n: int) -> np.ndarray:
        return rng.integers(0, 256, (n, 3072), dtype=np.uint8)

    if num_classes == 10:
        folder = osp.join(root, 'cifar-10-batches-py')
        os.makedirs(folder)
        for b, part in enumerate(np.array_split(train, 5)):
            with open(osp.join(folder, f'data_batch_{b + 1}'), 'wb') as f:
                pickle.dump({'data': data(part.size), 'labels': part.tolist()}, f)
        with open(osp.join(folder, 'test_batch'), 'wb') as f:
            pickle.dump({'data': data(test.size), 'labels': test.tolist()}, f)
    else:
        folder = osp.join(root, 'cifar-100-python')
        os.makedirs(folder)
        for split, labels in (('train', train), ('test', test)):
            with open(osp.join(folder, split), 'wb') as f:
                pickle.dump({'data': data(labels.size), 'fine_labels': labels.tolist(),
                             'coarse_labels': (labels // 5).tolist()}, f)


def _write_aux(root: str, num_aux: int) -> None:
    """A CustomDataset list with one image per auxiliary class, its class names, and target i -> auxiliary i."""
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, 'train.txt'), 'w') as f:
        f.write(''.join(f'a/{c}.png {c}\n' for c in range(num_aux)))
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write(''.join(f'aux{c}\n' for c in range(num_aux)))
    with open(osp.join(root, 'neighbours.json'), 'w') as f:
        json.dump({str(c): [c] for c in range(num_aux)}, f)


@pytest.fixture(scope='module')
def standins(tmp_path_factory):
    """Roots of the generated stand-ins, created on first use."""
    base = tmp_path_factory.mktemp('standins')
    made: dict[str, str] = {}

    def get(kind: str, **kw) -> str:
        key = f'{kind}{sorted(kw.items())}'
        if key not in made:
            root = str(base / f'{kind}{len(made)}')
            if kind in LIST_DATASETS:
                from ltplug.cls.datasets import list_lt
                _write_lists(root, getattr(list_lt, kind).DEFAULT_ANN, LIST_DATASETS[kind])
            elif kind in ('CIFAR10LT', 'CIFAR100LT'):
                _write_cifar(root, 10 if kind == 'CIFAR10LT' else 100)
            elif kind == 'aux':
                _write_aux(root, kw['num_aux'])
            elif kind == 'ade':
                sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
                from make_tiny_ade20k import make_tiny_ade20k
                make_tiny_ade20k(root, num_train=2, num_val=1, size=16)
            elif kind == 'lvis':
                sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
                from make_tiny_lvis import make_tiny_lvis
                make_tiny_lvis(root, num_train=4, num_val=4, size=64)
            made[key] = root
        return made[key]

    return get


def standin(ds: dict, standins, num_aux: int | None = None) -> dict:
    """The data-set config with its data replaced by a stand-in (the bundled digits are used as they are)."""
    ds = copy.deepcopy(ds)
    t = ds.get('type')
    if t in ('DigitsLT', 'DigitsAux'):
        return ds
    if t == 'FashionMNISTGz':  # the real files of the Debian package, which tools/setup.sh installs
        from ltplug.cls.datasets.fashion_mnist import FILES
        root = ds.get('data_root')
        missing = [n for pair in FILES.values() for n in pair if not osp.isfile(osp.join(root, n))]
        assert not missing, f'{missing} not under {root}: apt-get install dataset-fashion-mnist (tools/setup.sh does)'
        return ds
    if 'dataset' in ds:  # mmengine / mmdet wrappers (ClassBalancedDataset, RepeatDataset)
        ds['dataset'] = standin(ds['dataset'], standins, num_aux)
        return ds
    if t == 'CategoryExtrapolationDataset':
        ds['target'] = standin(ds['target'], standins)
        if ds['auxiliary'].get('type') == 'CustomDataset':
            root = standins('aux', num_aux=num_aux)
            ds['auxiliary'].update(data_root=root, classes=osp.join(root, 'classes.txt'))
            ds['neighbour_map'] = osp.join(root, 'neighbours.json')
        return ds
    if t in LIST_DATASETS:
        ds['data_root'] = standins(t)
    elif t in ('CIFAR10LT', 'CIFAR100LT'):
        ds.update(data_root=standins(t), n_max=2, imb_factor=1, check_md5=False)
    elif t == 'ADE20KDataset':
        ds['data_root'] = standins('ade')
    elif t in ('CheckedLVISV1Dataset', 'LVISV1Dataset'):
        ds['data_root'] = standins('lvis') + '/'
    else:
        raise AssertionError(f'no stand-in for data set type {t!r}: add one to tests/test_configs.py')
    return ds


# the CPU-sized configs (digits, tiny ADE20K / LVIS) build in the fast loop; the full-size networks take seconds each
BUILD_CASES = [p if any(k in osp.basename(p) for k in ('digits', 'tiny')) else pytest.param(p, marks=pytest.mark.slow)
               for p in CONFIGS]


@pytest.mark.parametrize('path', BUILD_CASES, ids=IDS)
def test_config_builds_model_optimizer_and_datasets(path, standins):
    from mmengine.optim import OptimWrapper, build_optim_wrapper
    from mmengine.registry import DATASETS, MODELS, init_default_scope

    import ltplug  # noqa: F401

    torch.set_num_threads(1)
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params > 0
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert isinstance(wrapper, OptimWrapper)
    in_optim = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    left_out = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in in_optim]
    assert not left_out, f'{path}: trainable parameters outside the optimiser: {left_out[:5]}'
    num_aux = cfg.get('num_aux_classes')
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if loader is None:
            continue
        dataset = DATASETS.build(standin(loader.dataset, standins, num_aux))
        assert len(dataset) > 0, f'{path}: empty {split} stand-in'
        classes = dataset.metainfo.get('classes') or ()
        head = cfg.model.get('head') or cfg.model.get('decode_head') or {}
        if split != 'train' and classes and isinstance(head, dict) and head.get('num_classes'):
            # evaluation covers the head's classes (targets only for category extrapolation)
            assert len(classes) == head.get('num_target_classes', head['num_classes']), path
