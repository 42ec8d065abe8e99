"""Small package utilities."""
from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package_name: str) -> None:
    """Import every submodule of a package so their ``@register_module`` decorators run (sorted, deterministic)."""
    package = importlib.import_module(package_name)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith('_'):
            continue
        module = importlib.import_module(f'{package_name}.{info.name}')
        if info.ispkg:
            import_submodules(module.__name__)
