"""Registers ltplug into the installed OpenMMLab libraries, and says once which adapters are active and why not.

An adapter (``ltplug.cls`` / ``.seg`` / ``.det``) is registered when its library is installed, importable, and inside
the version range ltplug is tested with (``ltplug.version.TESTED``: the official releases and the OneDL forks).
Otherwise it stays off with a one-line reason, and ``import ltplug`` still works for the other tasks: a library the
user does not use never makes the import fail. ``LTPLUG_ALLOW_UNTESTED=1`` registers outside the tested ranges (with
the same statement); ``LTPLUG_QUIET=1`` silences the statement (the status stays in :data:`ADAPTER_STATUS`).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import warnings

from .version import DISTRIBUTIONS, EXTRAS, TESTED, __version__, tested_spec

SETUP_HINT = 'run `make setup` (or `bash tools/setup.sh`) in the ltplug checkout'

# adapter module -> (task, import name of its library, extra of `pip install ltplug[...]`)
_ADAPTERS: dict[str, tuple[str, str, str]] = {
    'ltplug.cls': ('cls', 'mmpretrain', 'cls'),
    'ltplug.seg': ('seg', 'mmseg', 'seg'),
    'ltplug.det': ('det', 'mmdet', 'det'),
}
# libraries that need mmcv's compiled ops (mmcv.ops); mmpretrain runs on the pure-Python mmcv-lite
_NEEDS_MMCV_OPS = {'mmseg', 'mmdet'}

AVAILABLE_ADAPTERS: list[str] = []
MISSING_ADAPTERS: dict[str, str] = {}
# adapter module (and 'ltplug.engine') -> 'active: <versions>' or the reason it is off
ADAPTER_STATUS: dict[str, str] = {}
_stated = False


def install_hint(library: str) -> str:
    """How to get ``library`` (an import name) at a tested version, for error messages."""
    if library not in TESTED:
        return f'pip install {library}'
    official, *others = DISTRIBUTIONS[library]
    alternatives = ' or '.join(f'`{d}`' for d in others if d != 'mmcv-lite')
    fork = f' (or {alternatives} in a OneDL environment)' if alternatives else ''
    return f'`{official}{tested_spec(library)}`{fork}; for the pinned stack, {SETUP_HINT}'


def require(library: str) -> None:
    """Raise a clear ImportError when an OpenMMLab library that a component needs is not installed."""
    if importlib.util.find_spec(library) is None:
        raise ImportError(
            f'ltplug needs `{library}` for this component, and it is not installed in this Python environment '
            f'({sys.executable}). Install {install_hint(library)}.')


def installed_version(library: str) -> tuple[str, str] | None:
    """``(distribution, version)`` of the installed package that provides ``library`` (an import name), else None.

    Read from the package metadata, not by importing (importing mmdet / mmseg runs their own version assertions).
    """
    if importlib.util.find_spec(library) is None:
        return None
    for dist in DISTRIBUTIONS.get(library, (library,)):
        try:
            return dist, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    module = importlib.import_module(library)  # a source checkout on sys.path without metadata
    return library, str(getattr(module, '__version__', 'unknown'))


def _version_tuple(version: str) -> tuple[int, ...]:
    """Release numbers of a version string (``'1.3.0rc1'`` -> ``(1, 3, 0)``), enough to compare against TESTED."""
    parts = []
    for piece in version.split('+')[0].split('.'):
        digits = ''
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) < len(piece):
            break
    return tuple(parts)


def _check(library: str) -> tuple[str | None, str]:
    """(reason it cannot be used or None, 'dist version') for one library."""
    found = installed_version(library)
    if found is None:
        return f'{library} is not installed', ''
    dist, version = found
    low, high = TESTED[library]
    if not _version_tuple(low) <= _version_tuple(version) < _version_tuple(high):
        reason = f'{dist} {version} is outside the tested range {tested_spec(library)}'
        if os.environ.get('LTPLUG_ALLOW_UNTESTED') != '1':
            return reason + ' (LTPLUG_ALLOW_UNTESTED=1 registers anyway)', f'{dist} {version}'
        return None, f'{dist} {version} UNTESTED'
    return None, f'{dist} {version}'


def _adapter_reason(library: str) -> tuple[str | None, list[str]]:
    """Why the adapter of ``library`` cannot be registered (None if it can), and the versions found."""
    versions = []
    for lib in ('mmengine', 'mmcv', library):
        reason, found = _check(lib)
        if reason is not None:
            return reason, versions
        if lib != 'mmengine':  # stated on the engine line
            versions.append(found)
    if importlib.util.find_spec('mmcv._ext') is None:
        if library in _NEEDS_MMCV_OPS:
            return (f'{library} needs mmcv built with its compiled ops (mmcv.ops), and the installed '
                    f'{versions[0]} has none'), versions
        versions[0] += ' (no compiled ops)'
        # Expected without ops (mmcv-lite), and already stated above: mmcv warns about it on every import of mmpretrain.
        warnings.filterwarnings('ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    return None, versions


def register_all() -> None:
    """Register the mmengine-level pieces and every adapter whose library is usable (idempotent), and state once
    which adapters are active and why the others are not."""
    if not ADAPTER_STATUS.get('ltplug.engine', '').startswith('active'):
        reason, found = _check('mmengine')
        if reason is None:
            importlib.import_module('ltplug.engine')
            ADAPTER_STATUS['ltplug.engine'] = f'active ({found})'
        else:
            ADAPTER_STATUS['ltplug.engine'] = f'off: {reason}; install {install_hint("mmengine")}'
    for module, (_task, library, extra) in _ADAPTERS.items():
        if module in AVAILABLE_ADAPTERS:
            continue
        reason, versions = _adapter_reason(library)
        if reason is None:
            try:
                importlib.import_module(module)
            except (ImportError, AssertionError) as exc:  # the library itself fails to import (its own checks)
                if (getattr(exc, 'name', None) or '').startswith('ltplug'):
                    raise  # a bug in ltplug itself, not an environment problem
                reason = f'importing {library} failed: {type(exc).__name__}: {exc}'.splitlines()[0]
        if reason is None:
            AVAILABLE_ADAPTERS.append(module)
            MISSING_ADAPTERS.pop(module, None)
            ADAPTER_STATUS[module] = f'active ({", ".join(versions)})'
        else:
            hint = f"pip install 'ltplug[{extra}]' ({', '.join(EXTRAS[extra][:3])}, ...)"
            MISSING_ADAPTERS[module] = f'{reason}; to use it: {hint}, or {SETUP_HINT}'
            ADAPTER_STATUS[module] = f'off: {reason}'
    _state_once()


def status_lines() -> list[str]:
    """One line per adapter: active with the versions found, or off with the reason."""
    lines = [f'ltplug {__version__}:']
    for module in ('ltplug.engine', *_ADAPTERS):
        if module in ADAPTER_STATUS:
            name = 'engine' if module == 'ltplug.engine' else _ADAPTERS[module][0]
            lines.append(f'  {name:<7} {ADAPTER_STATUS[module]}')
    return lines


def _state_once() -> None:
    """Print the adapter status to stderr once per process (first ``import ltplug``), unless LTPLUG_QUIET=1."""
    global _stated
    if _stated or os.environ.get('LTPLUG_QUIET') == '1':
        return
    _stated = True
    print('\n'.join(status_lines()), file=sys.stderr)
