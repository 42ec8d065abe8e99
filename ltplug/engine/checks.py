"""Checks at the boundary a user touches: checkpoint files and ``num_classes`` against the data.

Every tool loads checkpoints through :func:`read_checkpoint` (never a hint to turn the safe loader off) and
:func:`load_model_checkpoint` (strict unless asked); ``tools/train.py`` calls :func:`check_num_classes` before the first
step, and a hook may call it from ``before_train`` with ``runner.model`` and ``runner.train_dataloader.dataset``.
"""
from __future__ import annotations

import os
import os.path as osp
import pickle
import re
import weakref
import zipfile

import torch

import ltplug.compat  # noqa: F401  (allow-lists mmengine's plain-data metadata for weights_only loading)

_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_MAGIC = b'\x80'  # torch's legacy (non-zip) format starts with a pickle protocol >= 2 opcode
_SHOW = 8  # keys listed in an error message


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used, with the reason and the file named."""


class ConfigValueError(ValueError):
    """A config value that does not fit the data, with the config key named."""


def check_checkpoint_file(path: str) -> None:
    """Cheap checks of a checkpoint file without loading it: exists, not empty, a torch format, not truncated."""
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint not found: {path}')
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointError(f'{path} is empty (0 bytes), not a checkpoint; the run that wrote it was probably '
                              'stopped while saving')
    with open(path, 'rb') as f:
        head = f.read(4)
    if head == _ZIP_MAGIC:
        if not zipfile.is_zipfile(path):
            raise CheckpointError(f'{path} is truncated or damaged ({size} bytes; the end of its zip archive is '
                                  'missing): an interrupted save or an incomplete copy. Use another checkpoint')
    elif not head.startswith(_PICKLE_MAGIC):
        raise CheckpointError(f'{path} is not a checkpoint: a torch checkpoint is a zip archive or a pickle, this '
                              f'file starts with the bytes {head!r}')


def read_checkpoint(path: str, map_location: str = 'cpu') -> dict:
    """Load a checkpoint with ``torch.load(weights_only=True)``; a clear :class:`CheckpointError` for a bad file.

    Distinguishes a missing, empty, foreign (not a torch file), truncated (zip without its central directory) and a
    refused file (it holds pickled objects the safe loader does not run). ``weights_only`` is never turned off.
    """
    check_checkpoint_file(path)
    size = osp.getsize(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:  # torch's text suggests weights_only=False: never pass that advice on
        found = re.search(r'GLOBAL ([\w.]+)', str(e))
        if not found:
            raise CheckpointError(f'{path} cannot be read as a checkpoint ({size} bytes): truncated or damaged '
                                  '(its pickled data is cut or corrupt)') from None
        raise CheckpointError(f'{path} holds a pickled object of type {found.group(1)} that the safe checkpoint loader '
                              'does not accept (only tensors, numbers, strings and mmengine\'s plain metadata are '
                              'loaded): it was not written by mmengine / ltplug, or it was altered') from None
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        if 'weights_only' in reason or len(reason) > 200:
            reason = type(e).__name__
        raise CheckpointError(f'{path} cannot be read as a checkpoint ({size} bytes): truncated or damaged '
                              f'({reason})') from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{path} holds a {type(ckpt).__name__}, not a checkpoint dict')
    return ckpt


def checkpoint_state_dict(ckpt: dict, path: str = 'checkpoint') -> dict:
    """The model weights of a checkpoint dict (``state_dict`` entry or a bare state dict), ``module.`` stripped."""
    state = ckpt.get('state_dict', ckpt)
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f'{path} has no state_dict of tensors (keys: {sorted(ckpt)[:_SHOW]})')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def _listed(keys: list[str]) -> str:
    """The first keys, and for a long list the count under each top-level module (where the models differ)."""
    if len(keys) <= _SHOW:
        return ', '.join(keys)
    modules: dict[str, int] = {}
    for k in keys:
        top = k.split('.')[0]
        modules[top] = modules.get(top, 0) + 1
    by_module = ', '.join(f'{m}: {n}' for m, n in modules.items())
    return ', '.join(keys[:_SHOW]) + f' ... (+{len(keys) - _SHOW} more; by module: {by_module})'


def state_dict_mismatch(model: torch.nn.Module, state: dict) -> tuple[list[str], list[str], list[str]]:
    """(missing keys, unexpected keys, 'key: checkpoint shape vs model shape') of ``state`` against ``model``."""
    own = model.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    shapes = sorted(f'{k}: {tuple(state[k].shape)} in the checkpoint, {tuple(v.shape)} in the model'
                    for k, v in own.items() if k in state and tuple(state[k].shape) != tuple(v.shape)
                    and v.numel() > 0)  # an empty buffer is sized by the checkpoint (e.g. a class prior)
    return missing, unexpected, shapes


def check_checkpoint_fits(model: torch.nn.Module, state: dict, path: str, what: str = 'the config\'s model') -> None:
    """Raise :class:`CheckpointError` naming the keys when ``state`` was written by another model than ``model``."""
    missing, unexpected, shapes = state_dict_mismatch(model, state)
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f'{len(missing)} keys of the model are missing from the checkpoint: {_listed(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} checkpoint keys are not in the model: {_listed(unexpected)}')
    if shapes:
        parts.append(f'{len(shapes)} shapes differ: {_listed(shapes)}')
    raise CheckpointError(f'{path} was written by another model than {what}; ' + '; '.join(parts)
                          + '. Use the config the checkpoint was trained with')


def load_model_checkpoint(model: torch.nn.Module, checkpoint: str | dict, *, strict: bool = True,
                          path: str | None = None) -> dict:
    """Load a checkpoint (a file, or a dict already read) into ``model``, strictly unless asked; returns the dict."""
    path = path or (checkpoint if isinstance(checkpoint, str) else 'checkpoint')
    ckpt = read_checkpoint(checkpoint) if isinstance(checkpoint, str) else checkpoint
    state = checkpoint_state_dict(ckpt, path)
    module = getattr(model, 'module', model)
    if strict:
        check_checkpoint_fits(module, state, path)
    module.load_state_dict(state, strict=strict)
    return ckpt


# ------------------------------------------------------------------------------------------------ num_classes
_DATASET_NUM_CLASSES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # dataset -> dataset_num_classes


def dataset_num_classes(dataset) -> tuple[int | None, str]:
    """(number of classes the data needs, how it was found): the larger of ``metainfo['classes']`` and max label + 1.

    Read once per dataset object (``tools/train.py`` and ``ClassCountsHook`` both check the same training set)."""
    try:
        return _DATASET_NUM_CLASSES[dataset]
    except (KeyError, TypeError):  # not read yet, or a dataset that cannot be weakly referenced (then read each time)
        pass
    found = _read_dataset_num_classes(dataset)
    try:
        _DATASET_NUM_CLASSES[dataset] = found
    except TypeError:
        pass
    return found


def _read_dataset_num_classes(dataset) -> tuple[int | None, str]:
    classes = None
    metainfo = getattr(dataset, 'metainfo', None)
    if isinstance(metainfo, dict) and metainfo.get('classes'):
        classes = len(metainfo['classes'])
    top = None
    if hasattr(dataset, 'get_gt_labels'):  # classification data: labels are cheap to read
        labels = [int(x) for x in dataset.get_gt_labels()]
        top = max(labels) + 1 if labels else None
    found = [n for n in (classes, top) if n is not None]
    if not found:
        return None, 'unknown'
    need = max(found)
    how = f'{classes} classes in its metainfo' if classes is not None else ''
    if top is not None and (classes is None or top > classes):
        how = (how + ', ' if how else '') + f'labels up to {top - 1}'
    return need, how


def class_count_modules(model: torch.nn.Module) -> list[tuple[str, int]]:
    """(module path, num_classes) of every sub-module that declares an integer ``num_classes`` (heads, classifiers,
    the data preprocessor); mmdet's class-agnostic ``rpn_head`` is left out."""
    model = getattr(model, 'module', model)
    found = []
    for name, module in model.named_modules():
        n = getattr(module, 'num_classes', None)
        if isinstance(n, bool) or not isinstance(n, int) or name.split('.')[0] == 'rpn_head':
            continue
        found.append((name, n))
    return found


def check_num_classes(model: torch.nn.Module, dataset, where: str = 'train_dataloader.dataset') -> None:
    """Raise :class:`ConfigValueError` (config key named) when a head has fewer classes than the training data."""
    need, how = dataset_num_classes(dataset)
    if need is None:
        return
    for name, n in class_count_modules(model):
        if n < need:
            key = f'model.{name}.num_classes' if name else 'model.num_classes'
            raise ConfigValueError(f'{key}={n}, but the training set ({where}: {type(dataset).__name__}) has {how}: '
                                   f'set {key}={need}')


def check_inside(path: str, root: str) -> bool:
    """True when ``path`` lies inside the directory ``root`` (after resolving links)."""
    path, root = osp.realpath(path), osp.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
