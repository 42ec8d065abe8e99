"""Smoke tests of the benchmark scripts: each runs with ``--quick`` (tiny shapes) and prints its table.

No timing is asserted (measured figures live in docs/benchmarks.md); the tests check that every script runs through the
real stack and prints the machine description and a complete, well-formed table. The four scripts run one after the
other in ONE fresh Python process (as ``__main__``, with ``sys.argv = [script, '--quick']``), so torch / OpenMMLab are
imported once and the test session's global state (mmengine scope, MessageHub, logger) is left alone.
"""
from __future__ import annotations

import json
import re

import pytest
from conftest import run_tool

MARKDOWN_FLAG = {s: f'{s} --markdown' for s in ('benchmarks/bench_heads.py', 'benchmarks/bench_calibration.py')}
MARKDOWN_FLAG['benchmarks/bench_vmf.py'] = 'benchmarks/bench_vmf.py --tiles 4'
NUMBER = re.compile(r'^\d+(\.\d+)?$')
SCRIPTS = ('benchmarks/bench_heads.py', 'benchmarks/bench_calibration.py', 'benchmarks/bench_vmf.py',
           'benchmarks/bench_sampler_plan.py', 'benchmarks/bench_icd_sampled.py')
DRIVER = """
import contextlib, io, json, runpy, sys, traceback
results = {}
for script in sys.argv[1:]:
    buf, code = io.StringIO(), 0
    script, *extra = script.split(' ')
    sys.argv = [script, '--quick', *extra]
    with contextlib.redirect_stdout(buf):
        try:
            runpy.run_path(script, run_name='__main__')
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Exception:
            traceback.print_exc(file=buf)
            code = 1
    results[script] = [code, buf.getvalue()]
print(json.dumps(results))
"""


@pytest.fixture(scope='module')
def outputs() -> dict[str, str]:
    """stdout of every benchmark script run with --quick (each must exit with status 0)."""
    proc = run_tool('-c', DRIVER, *(MARKDOWN_FLAG.get(s, s) for s in SCRIPTS), timeout=600)
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for script, (code, out) in results.items():
        assert code == 0, f'{script} --quick exited with {code}:\n{out[-4000:]}\n{proc.stderr[-4000:]}'
    return {script: out for script, (_, out) in results.items()}


def table_rows(text: str) -> dict[str, list[str]]:
    """``label -> cells`` of the ``|``-separated table lines (first cell = label)."""
    rows = {}
    for line in text.splitlines():
        if ' | ' in line and not line.startswith('#'):
            cells = [c.strip() for c in line.split('|')]
            rows[cells[0]] = cells[1:]
    return rows


def check_machine_header(out: str) -> None:
    for key in ('# date', '# CPU', '# software', '# threads', '# load avg'):
        assert key in out, f'missing machine line {key!r}:\n{out}'
    assert 'torch' in out


def test_bench_heads_quick_prints_both_tables(outputs):
    out = outputs['benchmarks/bench_heads.py']
    check_machine_header(out)
    assert '== head-only, ImageNet-LT-like' in out and '== end-to-end, CIFAR-100-LT-like' in out
    assert 'not registered' not in out and 'FAILED' not in out, out
    assert out.count('other jobs kept') == 2  # the interference measured during each table
    head_part, e2e_part = out.split('== end-to-end')
    expected = ['LinearClsHead (CE)', 'VMFClsHead, no aux loss', 'VMFClsHead + ICD', 'VMFClsHead + ICD + CFC',
                'CosineClsHead (s=30, CE)', 'TauNormClsHead (tau=1)', 'LWSClsHead', 'NCMClsHead (cl2n, l2)',
                'ExtrapolationClsHead + NSL, K=', 'ImageClassifier (linear), 3 views', 'BCLClassifier, 3 views',
                'CAMCalibratedClsHead (']
    for part, extra in ((head_part, ['ImageClassifier (linear), 1 view', 'LinearClsHead on GAP(']), (e2e_part, [])):
        rows = table_rows(part)
        for label in expected + extra:
            matches = [k for k in rows if k.startswith(label)]
            assert matches, f'row {label!r} missing:\n{part}'
            step, step_min, _, _, infer, infer_min = rows[matches[0]][:6]
            assert NUMBER.match(infer) and NUMBER.match(infer_min), (label, rows[matches[0]])
            if label.startswith('NCMClsHead'):
                assert step == step_min == '-'  # fitted, not trained: inference only
            else:
                assert NUMBER.match(step) and NUMBER.match(step_min), (label, rows[matches[0]])
        linear = rows['LinearClsHead (CE)']
        assert linear[2] == linear[6] == '1.00x'  # every 'x linear' ratio is relative to this row
        md = {r[0]: r for r in md_rows(part)}  # --markdown: the docs/benchmarks.md rows of the same figures
        assert md['LinearClsHead (CE)'][2] == md['LinearClsHead (CE)'][5] == '1.00x'
        assert re.match(r'^\d+(\.\d+)? \(\d+(\.\d+)?\)$', md['LinearClsHead (CE)'][1])


def test_bench_calibration_quick_prints_before_after(outputs):
    out = outputs['benchmarks/bench_calibration.py']
    check_machine_header(out)
    assert 'other jobs kept' in out
    rows = {k: v for k, v in table_rows(out).items() if 'quick' in k}
    assert len(rows) == 2, out
    for label, (plain, calibrated, ratio, delta, once, overlap) in rows.items():
        for cell in (plain, calibrated, ratio, once, overlap):
            assert NUMBER.match(cell), (label, cell)
        assert float(delta) > 0  # the calibrated classifier really predicts with other concentrations
    md = [r for r in md_rows(out) if 'quick' in r[0]]  # --markdown rows
    assert len(md) == 2 and all(len(r) == 7 for r in md), out


def md_rows(text: str) -> list[list[str]]:
    """Cells of the Markdown table rows (``| a | b |``), header and separator rows excluded."""
    rows = []
    for line in text.splitlines():
        if line.startswith('| ') and not line.startswith('|---'):
            rows.append([c.strip() for c in line.strip().strip('|').split('|')])
    return [r for r in rows if r[0] not in ('C', 'row', 'head', 'plan')]


MS = re.compile(r'^\d+(\.\d+)? \(\d+(\.\d+)?\)$')  # "median (min)"
RATIO = re.compile(r'^\d+(\.\d+)?x$')


def test_bench_vmf_quick_prints_ratio_tables(outputs):
    out = outputs['benchmarks/bench_vmf.py']
    check_machine_header(out)
    assert '== ICD loss + op vs one C x C x d product, d = 32' in out
    assert out.count('other jobs kept') == 5  # 2 ICD sizes, Bessel, 2 step settings
    icd = [r for r in md_rows(out) if r[0] in ('8', '16')]
    assert len(icd) == 12, out  # product, fwd, fwd + bwd, sampled, dense, fwd + bwd with 4-tiles at both sizes
    assert sum('4 x 4 tiles' in r[1] for r in icd) == 2
    for c, label, time_cell, ratio, cpu_ratio, _ in icd:
        assert MS.match(time_cell) and RATIO.match(ratio) and RATIO.match(cpu_ratio), (c, label, time_cell, ratio)
        if label.startswith('floor'):
            assert ratio == cpu_ratio == '1.00x'
    probed = [r for r in icd if r[5] != '-']
    assert len(probed) == 1 and probed[0][0] == '16' and float(probed[0][5]) >= 0  # quick: one memory probe
    bessel = [r for r in md_rows(out) if r[0].startswith(('ltplug (', 'official recipe'))]
    assert len(bessel) == 2 and bessel[0][2] == '1.00x' and 'rel' in bessel[0][3]
    steps = [r for r in md_rows(out) if r[0] in ('linear', 'vMF', 'vMF + ICD')]
    assert len(steps) == 6 and all(MS.match(r[1]) and RATIO.match(r[2]) for r in steps)


def test_bench_icd_sampled_quick_prints_accuracy_rows(outputs):
    out = outputs['benchmarks/bench_icd_sampled.py']
    check_machine_header(out)
    rows = {r[0]: r for r in md_rows(out)}
    for label in ('vMF, no auxiliary loss', 'vMF + full ICD', 'vMF + sampled ICD, m = 2 uniform rows of C = 10'):
        assert re.match(r'^\d+\.\d+ \+- \d+\.\d+$', rows[label][1]), rows
        assert len(rows[label][2].split(', ')) == 2  # two seeds in --quick
    assert 'sampled - full, paired by seed' in out and 'other jobs kept' in out


def test_bench_sampler_plan_quick_prints_every_plan(outputs):
    out = outputs['benchmarks/bench_sampler_plan.py']
    check_machine_header(out)
    assert 'N = 20000, C = 400' in out and 'other jobs kept' in out
    rows = md_rows(out)
    assert rows[0][0] == 'floor: one permutation of N' and rows[0][3] == '1.00x'
    for plan in ('instance-balanced', 'class-balanced', 'square-root', 'progressively-balanced'):
        lines = [r for r in rows if r[0].startswith(plan)]
        assert [r[1] for r in lines] == ['0', '89'], out
        assert all(MS.match(r[2]) and RATIO.match(r[3]) for r in lines), lines
