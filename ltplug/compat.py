"""Compatibility of the pinned OpenMMLab stack with torch >= 2.6 and setuptools >= 80.

1. torch.load defaults to ``weights_only=True`` since torch 2.6, and mmengine 0.10 calls it without that argument,
so its own
checkpoints (the message hub keeps ``HistoryBuffer`` objects; metas may hold numpy arrays and scalars) fail to load and
``--resume`` / ``load_from`` break. Instead of turning ``weights_only`` off (which would execute arbitrary pickled code
from a checkpoint file), this allow-lists the few plain-data classes these checkpoints contain. Nothing else is widened.

2. mmengine 0.10 finds installed packages (``mmseg::`` / ``mmdet::`` config bases, the hub) through ``pkg_resources``,
whose import warns that it is deprecated and slated for removal (twice per config: ``is_installed`` and
``get_installed_path``). The same two look-ups are answered here from ``importlib.metadata`` / ``importlib.util``.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os.path as osp
import sys

import numpy as np
import torch


def _numpy_globals() -> list:
    core = getattr(np, '_core', None) or np.core  # numpy 2 moved numpy.core to numpy._core
    items: list = [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:  # the dtype classes pickled by numpy >= 1.25 (np.dtypes.Float64DType, ...)
        items += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return items


def allow_openmmlab_checkpoint_globals() -> None:
    """Register the plain-data globals of mmengine checkpoints as safe for ``torch.load(weights_only=True)``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 has no allow-list (and defaults weights_only=False)
        return
    from mmengine.logging.history_buffer import HistoryBuffer

    add(_numpy_globals() + [HistoryBuffer])
    if not getattr(HistoryBuffer, '_ltplug_plain_state', False):
        HistoryBuffer.__getstate__ = _history_buffer_state
        HistoryBuffer._ltplug_plain_state = True


def _history_buffer_state(self) -> dict:
    """Pickle state of mmengine's HistoryBuffer without the class-level statistic functions."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    state.pop('_statistics_methods', None)
    return state


def is_installed(package: str) -> bool:
    """Whether a distribution (``mmsegmentation``) or an importable module (``mmseg``) of that name exists."""
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        return importlib.util.find_spec(package) is not None


def get_installed_path(package: str) -> str:
    """The directory of an installed package, given its distribution name (``mmsegmentation`` -> .../mmseg)."""
    module = package
    try:
        top_level = (importlib.metadata.distribution(package).read_text('top_level.txt') or '').split()
        module = top_level[0] if top_level else package.replace('-', '_')
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec(module)
    if spec is None or not (spec.origin or spec.submodule_search_locations):
        raise importlib.metadata.PackageNotFoundError(package)
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return osp.dirname(spec.origin)


def use_importlib_for_package_lookups() -> None:
    """Point mmengine's ``is_installed`` / ``get_installed_path`` (and the modules that imported them) at the above."""
    import mmengine.config.config
    import mmengine.utils
    import mmengine.utils.package_utils

    hub = sys.modules.get('mmengine.hub.hub')  # imported later, it picks the functions up from mmengine.utils
    for module in (mmengine.utils.package_utils, mmengine.utils, mmengine.config.config, hub):
        if module is None:
            continue
        for name, func in (('is_installed', is_installed), ('get_installed_path', get_installed_path)):
            if hasattr(module, name):
                setattr(module, name, func)


allow_openmmlab_checkpoint_globals()
use_importlib_for_package_lookups()


def _keep_allow_list_after(load):
    """Wrap a loader that removes the allow-list on exit so that ltplug's allow-list is registered again afterwards."""
    import functools

    @functools.wraps(load)
    def wrapper(*args, **kwargs):
        try:
            return load(*args, **kwargs)
        finally:
            allow_openmmlab_checkpoint_globals()

    wrapper._ltplug_keeps_allow_list = True
    return wrapper


def _guard_onedl_safe_load() -> None:
    """onedl-mmengine loads through ``torch.serialization.safe_globals(...)``, whose exit removes those globals from the
    process-wide allow-list, ours included: every later ``torch.load(weights_only=True)`` of a checkpoint then fails."""
    from mmengine.runner import checkpoint

    load = getattr(checkpoint, '_safe_torch_load', None)
    if load is not None and not getattr(load, '_ltplug_keeps_allow_list', False):
        checkpoint._safe_torch_load = _keep_allow_list_after(load)


_guard_onedl_safe_load()


def _resolve_forked_config_packages() -> None:
    """`mmseg::` base configs: mmengine looks up the distribution `mmsegmentation`; the OneDL fork's distribution has
    another name, so point mmengine at the import name, which it also accepts."""
    import importlib.metadata
    import importlib.util

    from mmengine.config.utils import MODULE2PACKAGE

    for module, dist in list(MODULE2PACKAGE.items()):
        if module == dist or importlib.util.find_spec(module) is None:
            continue
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            MODULE2PACKAGE[module] = module


_resolve_forked_config_packages()
