"""Small package utilities: submodule import, checkpoint-shape checks, dataset-wrapper unwrapping."""
from __future__ import annotations

import importlib
import pkgutil

import numpy as np


def import_submodules(package_name: str) -> None:
    """Import every submodule of a package so their ``@register_module`` decorators run (sorted, deterministic)."""
    package = importlib.import_module(package_name)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith('_'):
            continue
        module = importlib.import_module(f'{package_name}.{info.name}')
        if info.ispkg:
            import_submodules(module.__name__)


class CheckpointShapeError(ValueError):
    """A checkpoint's tensor does not fit the shape the config gives the module (e.g. ``num_classes``)."""


def check_checkpoint_shapes(module, state_dict: dict, prefix: str, expected: dict[str, tuple[int, ...]],
                            config: str) -> None:
    """Raise :class:`CheckpointShapeError` when ``state_dict[prefix + key]`` exists with another shape than
    ``expected[key]``; ``config`` names the config keys the expected shapes come from (for the message)."""
    for key, shape in expected.items():
        value = state_dict.get(prefix + key)
        if value is None or tuple(value.shape) == tuple(shape):
            continue
        got = tuple(value.shape)
        hint = ' (it looks transposed)' if len(got) == 2 and got == tuple(shape)[::-1] else ''
        raise CheckpointShapeError(f'{type(module).__name__}: the checkpoint holds {prefix}{key} of shape {got} but '
                                   f'the config gives {tuple(shape)} ({config}){hint}; set these keys to the '
                                   "checkpoint's values")


def dataset_leaves(dataset, repeats=None) -> list[tuple[object, object]]:
    """(leaf dataset, per-sample repeat counts or None) under mmengine's dataset wrappers.

    ``ConcatDataset`` (``datasets``) is flattened; ``RepeatDataset`` / ``ClassBalancedDataset`` (``dataset``) are
    unwrapped, and a ``ClassBalancedDataset`` directly over a leaf gives its per-sample repeat counts (an int array).
    """
    if hasattr(dataset, 'datasets'):
        return [leaf for d in dataset.datasets for leaf in dataset_leaves(d)]
    if hasattr(dataset, 'dataset'):
        inner = dataset.dataset
        if hasattr(dataset, 'repeat_indices'):  # ClassBalancedDataset: sample i appears repeat_indices.count(i) times
            return dataset_leaves(inner, np.bincount(np.asarray(dataset.repeat_indices, dtype=np.int64),
                                                     minlength=len(inner)))
        return dataset_leaves(inner)
    return [(dataset, repeats)]
