"""Package metadata for ltplug (long-tailed recognition plugins for OpenMMLab 2.x).

Versions come from ltplug/version.py, the single place they are written: `pip install -e .[cls]` (mmpretrain, no
compiler), `.[seg]`, `.[det]`, `.[all]` (these need mmcv built with its ops), `.[onedl]` (the OneDL forks), `.[tests]`.
The base install has no OpenMMLab requirement, so it never replaces the libraries of an existing environment.
"""
from setuptools import find_packages, setup


def _versions() -> dict:
    ns: dict = {}
    with open('ltplug/version.py') as f:
        exec(f.read(), ns)
    return ns


def _requirements(path: str) -> list[str]:
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]


VERSIONS = _versions()

setup(
    name='ltplug',
    version=VERSIONS['__version__'],
    description='Long-tailed recognition plugins (vMF-OP, decoupling, BCL, CAM calibration, category '
    'extrapolation) for mmpretrain, mmsegmentation and mmdetection',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools', 'benchmarks')),
    python_requires='>=3.11',
    install_requires=['torch', 'numpy'],
    extras_require={**VERSIONS['EXTRAS'], 'tests': _requirements('requirements/tests.txt')},
    license='Apache-2.0',
)
