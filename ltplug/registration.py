"""Registers ltplug into the installed OpenMMLab libraries, and gives clear errors for the missing ones."""
from __future__ import annotations

import importlib
import importlib.util

SETUP_HINT = 'run `make setup` (or `bash tools/setup.sh`) in the ltplug checkout'

# adapter module -> (import name of the library, pip name)
_ADAPTERS: dict[str, tuple[str, str]] = {
    'ltplug.cls': ('mmpretrain', 'mmpretrain==1.2.0'),
    'ltplug.seg': ('mmseg', 'mmsegmentation==1.2.2'),
    'ltplug.det': ('mmdet', 'mmdet==3.3.0'),
}
AVAILABLE_ADAPTERS: list[str] = []
MISSING_ADAPTERS: dict[str, str] = {}


def require(library: str) -> None:
    """Raise a clear ImportError when an OpenMMLab library that a component needs is not installed."""
    pip_names = {lib: pip for lib, pip in _ADAPTERS.values()}
    pip_names.update({'mmengine': 'mmengine==0.10.7', 'mmcv': 'mmcv==2.1.0 (built with ops)'})
    if importlib.util.find_spec(library) is None:
        raise ImportError(
            f'ltplug needs the package `{pip_names.get(library, library)}` (import name `{library}`) for this '
            f'component, and it is not installed in this Python environment. '
            f'To install the pinned stack, {SETUP_HINT}.')


def register_all() -> None:
    """Import the mmengine-level pieces and every adapter whose library is installed (idempotent)."""
    require('mmengine')
    importlib.import_module('ltplug.engine')
    for module, (library, pip_name) in _ADAPTERS.items():
        if module in AVAILABLE_ADAPTERS:
            continue
        if importlib.util.find_spec(library) is None:
            MISSING_ADAPTERS[module] = f'`{pip_name}` is not installed; {SETUP_HINT}'
            continue
        importlib.import_module(module)
        AVAILABLE_ADAPTERS.append(module)
