"""ltplug's version, and the one place where the versions of the OpenMMLab stacks it supports are written down.

``setup.py`` (the ``pip install`` extras), ``tools/setup.sh`` (the environments it builds) and
``ltplug.registration`` (the check made at ``import ltplug``) all read this file; ``requirements/lock.txt`` freezes the
rest of the default environment. It imports only the standard library, so the shell can run it without any environment:
``python ltplug/version.py requirements cls`` prints a stack's pip requirements, one per line.
"""
from __future__ import annotations

import sys

__version__ = '0.1.0'

# The default stack: exact versions, what `tools/setup.sh` builds and CI tests (`make test`, `make demo`).
PINS: dict[str, str] = {
    'torch': '2.14.1',
    'torchvision': '0.29.1',
    'mmengine': '0.10.7',
    'mmcv': '2.1.0',           # compiled from source with its ops (mmseg, mmdet)
    'mmcv-lite': '2.2.0',      # pure Python, no compiler: enough for mmpretrain (the cls-only environment)
    'mmpretrain': '1.2.0',
    'mmsegmentation': '1.2.2',
    'mmdet': '3.3.0',
}

# The maintained OneDL forks (same import names, newer releases): `tools/setup.sh --stack onedl`.
ONEDL_PINS: dict[str, str] = {
    'onedl-mmengine': '0.10.12',
    'onedl-mmcv': '2.3.6',     # source only on the index: compiled here like mmcv
    'onedl-mmpretrain': '1.3.6',
    'onedl-mmsegmentation': '1.4.2',
    'onedl-mmdetection': '3.5.1',
}

# Tested range of each library, by import name: from the official pin to the next minor release after the newest
# version the task's tests passed on (the OneDL releases of ONEDL_PINS; see the README's "Tested stacks"). Outside it
# `import ltplug` leaves the adapter off and says why (ltplug.registration). Widen a range only after the tests passed.
TESTED: dict[str, tuple[str, str]] = {
    'mmengine': ('0.10.7', '0.11'),
    'mmcv': ('2.1.0', '2.4'),
    'mmpretrain': ('1.2.0', '1.4'),
    'mmseg': ('1.2.2', '1.5'),
    'mmdet': ('3.3.0', '3.6'),
}

# The distributions that provide each import name (official release, its variants, the OneDL fork).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    'mmengine': ('mmengine', 'onedl-mmengine'),
    'mmcv': ('mmcv', 'mmcv-lite', 'onedl-mmcv'),
    'mmpretrain': ('mmpretrain', 'onedl-mmpretrain'),
    'mmseg': ('mmsegmentation', 'onedl-mmsegmentation'),
    'mmdet': ('mmdet', 'onedl-mmdetection'),
}


def tested_spec(import_name: str) -> str:
    """The tested range as a pip specifier, e.g. ``>=1.2.0,<1.4``."""
    low, high = TESTED[import_name]
    return f'>={low},<{high}'


def _official(import_name: str) -> str:
    return f'{DISTRIBUTIONS[import_name][0]}{tested_spec(import_name)}'


# `pip install ltplug[<extra>]`. The official releases; in an environment with the OneDL forks install plain
# `pip install -e .` (pip cannot tell that onedl-mmpretrain provides mmpretrain and would install both) or `[onedl]`.
EXTRAS: dict[str, list[str]] = {
    # mmpretrain never imports mmcv.ops, so the pure-Python mmcv-lite is enough (no compiler).
    'cls': [_official('mmengine'), _official('mmpretrain'), f'mmcv-lite{tested_spec("mmcv")}', 'scikit-learn'],
    # mmseg / mmdet need mmcv built with its ops; mmdet 3.3 and mmseg 1.2 refuse mmcv >= 2.2.
    'seg': [_official('mmengine'), 'mmcv>=2.1.0,<2.2', _official('mmseg'), 'ftfy', 'regex'],
    'det': [_official('mmengine'), 'mmcv>=2.1.0,<2.2', _official('mmdet'), 'lvis', 'pycocotools'],
    # the OneDL releases of ONEDL_PINS and their patch releases (onedl-mmcv also builds from source)
    'onedl': [f'{name}~={ver}' for name, ver in ONEDL_PINS.items()] + ['scikit-learn', 'ftfy', 'regex', 'lvis'],
}
# [all]: the three tasks on one compiled mmcv (mmcv-lite and mmcv cannot be installed side by side).
EXTRAS['all'] = sorted({r for task in ('seg', 'det') for r in EXTRAS[task]}
                       | {_official('mmpretrain'), 'scikit-learn'})


def _main(argv: list[str]) -> int:
    """Shell access for tools/setup.sh: ``pin NAME`` | ``requirements EXTRA`` | ``onedl-pins``."""
    if len(argv) == 2 and argv[0] == 'pin' and argv[1] in {**PINS, **ONEDL_PINS}:
        print({**PINS, **ONEDL_PINS}[argv[1]])
    elif len(argv) == 2 and argv[0] == 'requirements' and argv[1] in EXTRAS:
        print('\n'.join(EXTRAS[argv[1]]))
    elif argv == ['onedl-pins']:
        print('\n'.join(f'{name}=={ver}' for name, ver in ONEDL_PINS.items()))
    else:
        print('usage: python ltplug/version.py pin NAME | requirements EXTRA | onedl-pins', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(_main(sys.argv[1:]))
