"""Every shipped config loads, and every `type=` in it names a component registered in its scope."""
from __future__ import annotations

import glob
import importlib
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p.split(osp.sep))


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


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, osp.join(REPO, 'configs')) for p in CONFIGS])
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
