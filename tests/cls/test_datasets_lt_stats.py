"""tools/dataset_converters/lt_stats.py: counts, split sizes, histogram and the class-count file."""
from __future__ import annotations

import importlib.util
import os.path as osp

import numpy as np
import pytest
from conftest import run_tool

from ltplug.core.counts import load_class_counts
from ltplug.core.sampling import exponential_profile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools/dataset_converters/lt_stats.py')
_spec = importlib.util.spec_from_file_location('lt_stats', TOOL)
lt_stats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lt_stats)


def split_line(out, name):
    line = next(x for x in out.splitlines() if x.strip().startswith(f'{name}:'))
    return int(line.split()[1]), int(line.split()[3])


def test_cifar100_if100_split_sizes_and_count_file(tmp_path, capsys):
    out_file = tmp_path / 'c100.txt'
    assert lt_stats.main(['cifar', '100', '--imb-factor', '100', '--out', str(out_file)]) == 0
    out = capsys.readouterr().out
    counts = exponential_profile(500, 100, 100)
    assert load_class_counts(str(out_file)).tolist() == counts.tolist()
    assert 'images: 10847' in out
    # docs/methods.md §0.1: IF100 -> 35 / 35 / 30 classes; images per split recomputed here
    assert split_line(out, 'many') == (35, int(counts[counts > 100].sum()))
    assert split_line(out, 'medium') == (35, int(counts[(counts >= 20) & (counts <= 100)].sum()))
    assert split_line(out, 'few') == (30, int(counts[counts < 20].sum()))
    hist = [x for x in out.splitlines() if '|' in x]
    assert sum(int(x.split()[-1]) for x in hist) == 100


@pytest.mark.parametrize('imb,sizes', [(50, (41, 41, 18)), (10, (69, 31, 0))])
def test_cifar100_other_factors(capsys, imb, sizes):
    assert lt_stats.main(['cifar', '100', '--imb-factor', str(imb)]) == 0
    out = capsys.readouterr().out
    assert tuple(split_line(out, n)[0] for n in ('many', 'medium', 'few')) == sizes


def test_list_file(tmp_path, capsys):
    labels = np.repeat(np.arange(4), [150, 100, 20, 19])
    (tmp_path / 'train.txt').write_text(''.join(f'train/c{c}/{i}.jpg {c}\n' for i, c in enumerate(labels)))
    out_file = tmp_path / 'sub' / 'counts.txt'
    assert lt_stats.main(['list', str(tmp_path / 'train.txt'), '--out', str(out_file)]) == 0
    out = capsys.readouterr().out
    assert load_class_counts(str(out_file)).tolist() == [150, 100, 20, 19]
    assert split_line(out, 'many')[0] == 1 and split_line(out, 'medium')[0] == 2 and split_line(out, 'few')[0] == 1


def test_list_file_errors(tmp_path, capsys):
    (tmp_path / 'gap.txt').write_text('a.jpg 0\nb.jpg 2\n')
    assert lt_stats.main(['list', str(tmp_path / 'gap.txt'), '--out', str(tmp_path / 'c.txt')]) == 1
    assert 'no training image' in capsys.readouterr().err
    assert not (tmp_path / 'c.txt').exists()
    (tmp_path / 'bad.txt').write_text('a.jpg 0\nb.jpg two\n')
    assert lt_stats.main(['list', str(tmp_path / 'bad.txt')]) == 1
    assert 'bad.txt:2' in capsys.readouterr().err
    assert lt_stats.main(['list', str(tmp_path / 'gap.txt'), '--num-classes', '2']) == 1
    assert 'label 2 is outside [0, 2)' in capsys.readouterr().err


def test_digits_from_the_command_line(tmp_path):
    out_file = tmp_path / 'digits.txt'
    proc = run_tool(TOOL, 'digits', '--many-thr', '50', '--out', str(out_file))
    assert load_class_counts(str(out_file)).tolist() == exponential_profile(120, 20, 10).tolist()
    assert 'many > 50' in proc.stdout and 'images: 405' in proc.stdout
