"""`import ltplug` registers into what is installed and states once why an adapter is off; versions have one source.

Each environment change (a library missing, one outside the tested range, mmcv without its compiled ops) is made for
real in a fresh Python process: the library hidden from the import system, or a package metadata directory of another
version placed first on the path, so ``importlib.metadata`` and the import system see what a user's environment shows.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import os.path as osp
import re
import sys

import pytest
from conftest import REPO, run_tool

from ltplug import version as versions

ALL_LINES = ('engine', 'cls', 'seg', 'det')


def import_ltplug(tmp_path, prelude: str = '', env: dict | None = None) -> tuple[dict, str]:
    """``import ltplug`` in a fresh process after ``prelude``; returns its ADAPTER_STATUS and its stderr."""
    script = tmp_path / 'probe.py'
    script.write_text(f'{prelude}\nimport json, ltplug\nprint(json.dumps(ltplug.ADAPTER_STATUS))\n')
    base = {'LTPLUG_QUIET': '0', 'LTPLUG_ALLOW_UNTESTED': '0'}  # whatever the calling shell sets
    proc = run_tool(str(script), env={**base, **(env or {})})  # the statement goes to stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def status_block(stderr: str) -> dict[str, str]:
    """The statement `import ltplug` printed: adapter name -> its status text."""
    assert stderr.count(f'ltplug {versions.__version__}:') == 1, stderr  # stated exactly once
    lines = stderr[stderr.index(f'ltplug {versions.__version__}:'):].splitlines()[1:5]
    return {ln.split()[0]: ln.split(None, 1)[1] for ln in lines}


def test_every_installed_adapter_is_active_with_the_installed_versions():
    import ltplug
    from ltplug.registration import status_lines
    from ltplug.version import DISTRIBUTIONS

    def installed(library: str) -> str:  # 'mmcv 2.1.0', or the fork's distribution ('onedl-mmcv 2.3.6')
        for dist in DISTRIBUTIONS[library]:
            try:
                return f'{dist} {importlib.metadata.version(dist)}'
            except importlib.metadata.PackageNotFoundError:
                continue
        raise AssertionError(f'no distribution of {library} installed')

    expected = {'engine': f'active ({installed("mmengine")})'}
    for name, library in (('cls', 'mmpretrain'), ('seg', 'mmseg'), ('det', 'mmdet')):
        expected[name] = f'active ({installed("mmcv")}, {installed(library)})'
        assert ltplug.ADAPTER_STATUS[f'ltplug.{name}'] == expected[name]
    assert status_block('\n'.join(status_lines())) == expected


def test_a_missing_library_turns_its_adapter_off_and_the_rest_still_registers(tmp_path):
    prelude = ("import sys\nsys.modules['mmdet'] = None  # what find_spec reports for a package that is not there\n"
               "import ltplug\nfrom mmpretrain.registry import MODELS\n"
               "assert MODELS.get('VMFClsHead') is not None\nassert 'ltplug.det' in ltplug.MISSING_ADAPTERS\n"
               "assert \"pip install 'ltplug[det]'\" in ltplug.MISSING_ADAPTERS['ltplug.det']")
    status, stderr = import_ltplug(tmp_path, prelude)
    assert status['ltplug.det'] == 'off: mmdet is not installed'
    assert status_block(stderr)['det'] == 'off: mmdet is not installed'
    assert status['ltplug.cls'].startswith('active') and status['ltplug.seg'].startswith('active')


def fake_metadata(root, dist: str, version: str) -> str:
    """A package metadata directory claiming ``dist==version``; first on the path, importlib.metadata reads it."""
    info = root / f'{dist}-{version}.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n')
    return str(root)


def test_a_version_outside_the_tested_range_is_stated_with_the_range(tmp_path):
    path = fake_metadata(tmp_path / 'site', 'mmsegmentation', '9.0.0') + os.pathsep + REPO
    status, stderr = import_ltplug(tmp_path, env={'PYTHONPATH': path})
    low, high = versions.TESTED['mmseg']
    expected = (f'off: mmsegmentation 9.0.0 is outside the tested range >={low},<{high} '
                '(LTPLUG_ALLOW_UNTESTED=1 registers anyway)')
    assert status['ltplug.seg'] == expected and status_block(stderr)['seg'] == expected
    assert status['ltplug.cls'].startswith('active') and status['ltplug.det'].startswith('active')
    # the opt-in registers it and keeps saying so; LTPLUG_QUIET silences the statement only
    env = {'PYTHONPATH': path, 'LTPLUG_ALLOW_UNTESTED': '1', 'LTPLUG_QUIET': '1'}
    status, stderr = import_ltplug(tmp_path, env=env)
    assert status['ltplug.seg'] == f'active (mmcv {importlib.metadata.version("mmcv")}, mmsegmentation 9.0.0 UNTESTED)'
    assert f'ltplug {versions.__version__}:' not in stderr


def test_mmcv_without_compiled_ops_keeps_cls_and_turns_seg_det_off(tmp_path):
    # mmcv-lite is mmcv without `mmcv._ext`: hide the compiled extension
    status, _ = import_ltplug(tmp_path, "import sys\nsys.modules['mmcv._ext'] = None")
    mmcv_version = importlib.metadata.version('mmcv')
    assert status['ltplug.cls'] == (f'active (mmcv {mmcv_version} (no compiled ops), '
                                    f'mmpretrain {importlib.metadata.version("mmpretrain")})')
    for task in ('seg', 'det'):
        lib = {'seg': 'mmseg', 'det': 'mmdet'}[task]
        assert status[f'ltplug.{task}'] == (f'off: {lib} needs mmcv built with its compiled ops (mmcv.ops), and the '
                                            f'installed mmcv {mmcv_version} has none')


@pytest.mark.parametrize('version', ['0.10.6', '0.10.7', '0.10.12', '0.11.0', '1.0.0', '0.9.99', '0.10.7.post1'])
def test_range_check_agrees_with_packaging(version):
    from packaging.version import Version

    from ltplug.registration import _version_tuple
    low, high = versions.TESTED['mmengine']
    ours = _version_tuple(low) <= _version_tuple(version) < _version_tuple(high)
    assert ours == (Version(low) <= Version(version) < Version(high))


def test_version_tuple_drops_local_and_pre_release_parts():
    from ltplug.registration import _version_tuple
    assert _version_tuple('2.14.1+cu130') == (2, 14, 1)
    assert _version_tuple('1.3.0rc1') == (1, 3, 0)
    assert _version_tuple('0.10.12') == (0, 10, 12)


def test_versions_have_one_source():
    """lock.txt (the frozen default environment) agrees with ltplug/version.py, which setup.py and the shell read."""
    lock = {}
    with open(osp.join(REPO, 'requirements', 'lock.txt')) as f:
        for line in f:
            m = re.match(r'^([A-Za-z0-9_.-]+)==(\S+)$', line.strip())
            if m:
                lock[m.group(1).lower().replace('_', '-')] = m.group(2)
    for dist in ('torch', 'torchvision', 'mmengine', 'mmpretrain', 'mmsegmentation', 'mmdet'):
        assert lock[dist] == versions.PINS[dist], dist
    for name, (low, _high) in versions.TESTED.items():  # the official pin is the low end of each tested range
        assert versions.PINS[versions.DISTRIBUTIONS[name][0]] == low, name
    for extra, reqs in versions.EXTRAS.items():
        out = run_tool(osp.join('ltplug', 'version.py'), 'requirements', extra).stdout.split()
        assert out == reqs, extra
    assert sys.modules['ltplug.version'] is versions
