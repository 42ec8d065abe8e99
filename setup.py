"""Package metadata for ltplug (long-tailed recognition plugins for OpenMMLab 2.x)."""
from setuptools import find_packages, setup


def _version() -> str:
    ns: dict = {}
    with open('ltplug/version.py') as f:
        exec(f.read(), ns)
    return ns['__version__']


def _requirements(path: str) -> list[str]:
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]


setup(
    name='ltplug',
    version=_version(),
    description='Long-tailed recognition plugins (vMF-OP, decoupling, BCL, CAM calibration, category '
    'extrapolation) for mmpretrain, mmsegmentation and mmdetection',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'configs', 'tools', 'benchmarks')),
    python_requires='>=3.11',
    install_requires=['torch', 'numpy', 'scipy', 'mmengine>=0.10.7,<0.11'],
    extras_require={
        'all': _requirements('requirements/runtime.txt'),
        'tests': _requirements('requirements/tests.txt'),
    },
    license='Apache-2.0',
)
