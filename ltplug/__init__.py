"""ltplug: long-tailed recognition plugins for the OpenMMLab 2.x stack.

Importing the package registers every component into the registries of whichever of mmpretrain, mmsegmentation and
mmdetection is installed (mmengine-level pieces such as samplers, hooks and schedulers go into mmengine's root
registries, so every scope sees them). The method maths lives in :mod:`ltplug.core`, which imports torch only.
"""
from . import compat  # noqa: F401  (torch.load allow-list for OpenMMLab checkpoints; must run before any load)
from .registration import AVAILABLE_ADAPTERS, MISSING_ADAPTERS, register_all, require
from .version import __version__

register_all()

__all__ = ['__version__', 'register_all', 'require', 'AVAILABLE_ADAPTERS', 'MISSING_ADAPTERS']
