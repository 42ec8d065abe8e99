"""ltplug: long-tailed recognition plugins for the OpenMMLab 2.x stack.

Importing the package registers every component into the registries of whichever of mmpretrain, mmsegmentation and
mmdetection is installed at a tested version (mmengine-level pieces such as samplers, hooks and schedulers go into
mmengine's root registries, so every scope sees them), and states once on stderr which task adapters are active and
why the others are not (``ltplug.registration``). A missing library never makes the import fail. The method maths
lives in :mod:`ltplug.core`, which imports torch only.
"""
import importlib.util as _util

if _util.find_spec('mmengine') is not None:
    from . import compat  # noqa: F401  (torch.load allow-list for OpenMMLab checkpoints; must run before any load)
from .registration import ADAPTER_STATUS, AVAILABLE_ADAPTERS, MISSING_ADAPTERS, register_all, require
from .version import __version__

register_all()

__all__ = ['__version__', 'register_all', 'require', 'AVAILABLE_ADAPTERS', 'MISSING_ADAPTERS', 'ADAPTER_STATUS']
