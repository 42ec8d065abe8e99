"""Compatibility of the pinned OpenMMLab stack with torch >= 2.6.

torch.load defaults to ``weights_only=True`` since torch 2.6, and mmengine 0.10 calls it without that argument,
so its own
checkpoints (the message hub keeps ``HistoryBuffer`` objects; metas may hold numpy arrays and scalars) fail to load and
``--resume`` / ``load_from`` break. Instead of turning ``weights_only`` off (which would execute arbitrary pickled code
from a checkpoint file), this allow-lists the few plain-data classes these checkpoints contain. Nothing else is widened.
"""
from __future__ import annotations

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


allow_openmmlab_checkpoint_globals()
