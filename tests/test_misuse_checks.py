"""ltplug.engine.checks (issue 16): checkpoint files and num_classes, without a training run."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from conftest import REPO
from torch import nn

from ltplug.engine import checks


class Tiny(nn.Module):
    def __init__(self, out: int = 3) -> None:
        super().__init__()
        self.backbone = nn.Linear(4, 4)
        self.head = nn.Linear(4, out)


def save(path, model: nn.Module) -> str:
    torch.save({'meta': {'epoch': 1}, 'state_dict': {f'module.{k}': v for k, v in model.state_dict().items()}}, path)
    return str(path)


def test_a_good_checkpoint_loads_strictly(tmp_path):
    src, dst = Tiny(), Tiny()
    ckpt = checks.load_model_checkpoint(dst, save(tmp_path / 'a.pth', src))
    assert ckpt['meta'] == {'epoch': 1}
    assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values()))


@pytest.mark.parametrize('make, message', [
    (lambda p, good: p.write_bytes(b''), 'is empty (0 bytes)'),
    (lambda p, good: p.write_bytes(b'\x13' + bytes(range(256)) * 4), 'is not a checkpoint'),
    (lambda p, good: p.write_bytes(good[:len(good) // 2]), 'truncated or damaged'),
    (lambda p, good: p.write_bytes(good[:-10]), 'truncated or damaged'),
    (lambda p, good: p.write_bytes(b'\x80\x02' + b'\x00' * 50), 'truncated or damaged'),
    (lambda p, good: torch.save({'state_dict': {}, 'obj': zipfile.ZipInfo('x')}, p),
     'zipfile.ZipInfo that the safe checkpoint loader does not accept'),
    (lambda p, good: torch.save([1, 2], p), 'holds a list, not a checkpoint dict'),
], ids=['empty', 'random-bytes', 'half', 'tail-cut', 'bad-pickle', 'pickled-object', 'not-a-dict'])
def test_bad_files_get_a_clear_error_and_never_unsafe_advice(tmp_path, make, message):
    good_path = save(tmp_path / 'good.pth', Tiny())
    good = open(good_path, 'rb').read()
    bad = tmp_path / 'bad.pth'
    make(bad, good)
    with pytest.raises(checks.CheckpointError) as err:
        checks.read_checkpoint(str(bad))
    assert message in str(err.value) and str(bad) in str(err.value)
    assert 'weights_only' not in str(err.value)


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(checks.CheckpointError, match='checkpoint not found: .*nope.pth'):
        checks.read_checkpoint(str(tmp_path / 'nope.pth'))


def test_a_checkpoint_of_another_model_lists_the_keys_and_leaves_the_model_alone(tmp_path):
    path = save(tmp_path / 'other.pth', nn.Sequential(nn.Linear(4, 4)))
    model = Tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(checks.CheckpointError) as err:
        checks.load_model_checkpoint(model, path)
    text = str(err.value)
    assert 'written by another model' in text
    assert '4 keys of the model are missing from the checkpoint: backbone.bias, backbone.weight, head.bias' in text
    assert '2 checkpoint keys are not in the model: 0.bias, 0.weight' in text
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    # a shape mismatch (another num_classes) is named with both shapes
    with pytest.raises(checks.CheckpointError, match=r'head.weight: \(5, 4\) in the checkpoint, \(3, 4\) in the model'):
        checks.load_model_checkpoint(Tiny(3), save(tmp_path / 'five.pth', Tiny(5)))
    # non-strict only when asked
    checks.load_model_checkpoint(Tiny(3), save(tmp_path / 'b.pth', Tiny(3)), strict=False)


class Labelled:
    """A classification data set stand-in: metainfo classes and labels."""

    def __init__(self, classes, labels) -> None:
        self.metainfo = {'classes': classes} if classes is not None else {}
        self._labels = labels

    def get_gt_labels(self):
        return np.asarray(self._labels)


class WithHeads(nn.Module):
    """Heads as mmseg / mmdet name them; mmdet's class-agnostic rpn_head has num_classes=1."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.rpn_head = nn.Module()
        self.rpn_head.num_classes = 1
        self.roi_head = nn.Module()
        self.roi_head.bbox_head = nn.Module()
        self.roi_head.bbox_head.num_classes = n


def test_num_classes_against_labels_and_declared_classes():
    model = nn.Module()
    model.head = nn.Module()
    model.head.num_classes = 5
    with pytest.raises(checks.ConfigValueError,
                       match=r'model.head.num_classes=5, .*10 classes in its metainfo.*set model.head.num_classes=10'):
        checks.check_num_classes(model, Labelled([str(i) for i in range(10)], [0, 9]))
    with pytest.raises(checks.ConfigValueError, match=r'labels up to 7: set model.head.num_classes=8'):
        checks.check_num_classes(model, Labelled(None, [0, 7]))
    checks.check_num_classes(model, Labelled(None, [0, 4]))  # fits
    det = WithHeads(3)
    with pytest.raises(checks.ConfigValueError, match=r'model.roi_head.bbox_head.num_classes=3.*set .*=4'):
        checks.check_num_classes(det, Labelled(['a', 'b', 'c', 'd'], []))
    checks.check_num_classes(WithHeads(4), Labelled(['a', 'b', 'c', 'd'], []))  # rpn_head's 1 is not a class count


def test_no_pkg_resources_deprecation_warning_on_import_and_config():
    """16.8: reading a config with an `mmseg::` base through the tools warns nothing about pkg_resources (mmengine's
    package look-ups import it; ltplug.compat answers them from importlib), and the look-ups still find mmseg."""
    code = ('import sys, warnings; sys.path.insert(0, "tools")\n'
            'with warnings.catch_warnings(record=True) as w:\n'
            '    warnings.simplefilter("always")\n'
            '    import _common\n'
            '    _common.read_config("configs/vmf_ade20k/vmf-icd_upernet_r50_4xb4-160k_ade20k-512x512.py")\n'
            '    from mmengine.utils import get_installed_path, is_installed\n'
            '    print(is_installed("mmsegmentation"), is_installed("no-such-package-xyz"),\n'
            '          get_installed_path("mmsegmentation").endswith("mmseg"))\n'
            'print([str(x.message) for x in w if "pkg_resources" in str(x.message)])\n'
            'print("pkg_resources" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split('\n')[-4:] == ['True False True', '[]', 'False', ''], out.stdout + out.stderr


def test_lt_stats_digits_uses_the_digits_metric_thresholds(tmp_path, capsys):
    """16.8: lt_stats.py digits splits many / few at the digits evaluator's 50 / 20 (was 100 / 20)."""
    import importlib.util
    import os.path as osp

    from mmengine.config import Config
    spec = importlib.util.spec_from_file_location('lt_stats', osp.join(REPO, 'tools/dataset_converters/lt_stats.py'))
    lt_stats = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lt_stats)
    evaluator = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/digits_lt.py')).val_evaluator
    assert lt_stats.main(['digits']) == 0
    text = capsys.readouterr().out
    assert f'many > {evaluator.many_thr}, medium {evaluator.few_thr}..{evaluator.many_thr}' in text
    assert evaluator.many_thr == 50 and evaluator.few_thr == 20
    out = tmp_path / 'counts.txt'
    out.write_text('keep\n')
    with pytest.raises(SystemExit, match='exists'):
        lt_stats.main(['digits', '--out', str(out)])
    assert out.read_text() == 'keep\n'
