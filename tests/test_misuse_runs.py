"""Misuse through the real tools (issue 16): resume into another work dir, exact resume, wrong checkpoints, errors.

Every case runs tools/train.py / tools/test.py in a subprocess on the bundled digits configs, shrunk to 2 epochs.
"""
from __future__ import annotations

import glob
import hashlib
import os
import os.path as osp

import pytest
import torch
from conftest import REPO, run_tool

JOINT = 'configs/decoupling/joint_cifar-resnet20_digits-lt.py'
VMF = 'configs/vmf/vmf_cifar-resnet20_digits-lt.py'
# tiny runs: validation every epoch (so a best checkpoint exists), quiet logs, deterministic kernels
SMALL = ['model.backbone.depth=8', 'train_cfg.val_interval=1', 'default_hooks.logger.interval=100',
         'randomness.deterministic=True']


def train(config: str, work_dir: str, *extra: str, epochs: int = 2, check: bool = True, options=()):
    return run_tool('tools/train.py', config, '--work-dir', work_dir, *extra, '--cfg-options', *SMALL,
                    f'train_cfg.max_epochs={epochs}', *options, check=check)


def digest(folder: str) -> dict[str, str]:
    """sha1 of every file under a folder (to prove a run left it untouched)."""
    out = {}
    for path in sorted(glob.glob(osp.join(folder, '**', '*'), recursive=True)):
        if osp.isfile(path):
            with open(path, 'rb') as f:
                out[osp.relpath(path, folder)] = hashlib.sha1(f.read()).hexdigest()
    return out


def tensors(obj, prefix: str = '') -> dict[str, torch.Tensor]:
    """Every tensor of a (nested) checkpoint dict, by path."""
    found = {}
    if torch.is_tensor(obj):
        found[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            found.update(tensors(v, f'{prefix}/{k}'))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found.update(tensors(v, f'{prefix}/{i}'))
    return found


@pytest.fixture(scope='module')
def run_a(tmp_path_factory):
    """Run A: the joint digits config, 2 epochs, validated every epoch."""
    work = str(tmp_path_factory.mktemp('runs') / 'jA')
    train(JOINT, work)
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    assert glob.glob(osp.join(work, 'best_*.pth'))
    return work


def test_resume_into_a_new_work_dir_never_touches_the_old_one_and_equals_one_run(run_a, tmp_path):
    """16.1 + 16.2: B resumes A's checkpoint in its own dir; A is untouched; 2 + 2 epochs == 4 epochs bit for bit."""
    before = digest(run_a)
    work_b, work_c = str(tmp_path / 'jB'), str(tmp_path / 'jC')
    proc = train(JOINT, work_b, '--resume', osp.join(run_a, 'epoch_2.pth'), epochs=4)
    assert digest(run_a) == before, 'the resumed run changed or removed files of the run it resumed from'
    removed = [line for line in (proc.stdout + proc.stderr).splitlines() if 'is removed' in line]
    assert all(work_b in line for line in removed), removed  # B only replaces its own best checkpoint
    train(JOINT, work_c, epochs=4)
    import ltplug  # noqa: F401  (weights_only allow-list of mmengine's metadata)
    b = torch.load(osp.join(work_b, 'epoch_4.pth'), map_location='cpu')
    c = torch.load(osp.join(work_c, 'epoch_4.pth'), map_location='cpu')
    tb, tc = tensors({k: b[k] for k in ('state_dict', 'optimizer', 'param_schedulers')}), \
        tensors({k: c[k] for k in ('state_dict', 'optimizer', 'param_schedulers')})
    assert tb.keys() == tc.keys() and len(tb) > 50
    differ = [k for k in tb if not torch.equal(tb[k], tc[k])]
    assert not differ, f'{len(differ)} of {len(tb)} tensors differ after resume, e.g. {differ[:5]}'


def test_resume_with_workers_equals_one_run(tmp_path):
    """16.2 with 2 dataloader workers (not persistent): the workers' augmentation streams follow the resume too."""
    opts = ('train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=False')
    work_a, work_b, work_c = (str(tmp_path / n) for n in ('wA', 'wB', 'wC'))
    train(JOINT, work_a, epochs=1, options=opts)
    train(JOINT, work_b, '--resume', osp.join(work_a, 'epoch_1.pth'), epochs=2, options=opts)
    train(JOINT, work_c, epochs=2, options=opts)
    import ltplug  # noqa: F401
    sb = torch.load(osp.join(work_b, 'epoch_2.pth'), map_location='cpu')['state_dict']
    sc = torch.load(osp.join(work_c, 'epoch_2.pth'), map_location='cpu')['state_dict']
    assert all(torch.equal(sb[k], sc[k]) for k in sc)


def test_iteration_based_resume_in_mid_epoch_equals_one_run(tmp_path):
    """16.2 for an IterBasedTrainLoop: resume at iteration 18 (mid-epoch, after a validation) to 30 == 30 at once."""
    cfg = tmp_path / 'iter_cfg.py'
    cfg.write_text(f"_base_ = [{osp.join(REPO, JOINT)!r}]\n"
                   "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=30, val_interval=6)\n"
                   "default_hooks = dict(checkpoint=dict(by_epoch=False, interval=6, max_keep_ckpts=-1), "
                   "logger=dict(interval=100))\nrandomness = dict(seed=0, deterministic=True)\n")
    work_a, work_b, work_c = (str(tmp_path / n) for n in ('iA', 'iB', 'iC'))
    run_tool('tools/train.py', str(cfg), '--work-dir', work_a, '--cfg-options', 'train_cfg.max_iters=18')
    run_tool('tools/train.py', str(cfg), '--work-dir', work_b, '--resume', osp.join(work_a, 'iter_18.pth'))
    run_tool('tools/train.py', str(cfg), '--work-dir', work_c)
    import ltplug  # noqa: F401
    b = torch.load(osp.join(work_b, 'iter_30.pth'), map_location='cpu')
    c = torch.load(osp.join(work_c, 'iter_30.pth'), map_location='cpu')
    keys = ('state_dict', 'optimizer')
    tb, tc = tensors({k: b[k] for k in keys}), tensors({k: c[k] for k in keys})
    differ = [k for k in tb if not torch.equal(tb[k], tc[k])]
    assert tb.keys() == tc.keys() and not differ, f'{len(differ)} of {len(tb)} tensors differ, e.g. {differ[:5]}'


def test_resume_refuses_a_work_dir_holding_another_run(run_a, tmp_path):
    """Resuming A's checkpoint into a dir with another run's checkpoints is refused (the guard is not skipped)."""
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'epoch_1.pth').write_bytes(b'another run')
    proc = train(JOINT, str(other), '--resume', osp.join(run_a, 'epoch_2.pth'), epochs=3, check=False)
    assert proc.returncode != 0 and 'already holds checkpoints of an earlier run' in proc.stderr
    assert (other / 'epoch_1.pth').read_bytes() == b'another run'


@pytest.mark.parametrize('content, expected', [
    (b'', 'is empty'),
    (b'\x13' + bytes(range(256)) * 16, 'is not a checkpoint'),
    ('truncate', 'truncated or damaged'),
], ids=['empty', 'random-bytes', 'truncated'])
def test_bad_checkpoint_files_get_a_clear_error(run_a, tmp_path, content, expected):
    """16.6: empty file, random bytes, truncated checkpoint -> one clear line (no traceback, no unsafe advice)."""
    bad = tmp_path / 'bad.pth'
    if content == 'truncate':
        data = open(osp.join(run_a, 'epoch_2.pth'), 'rb').read()
        content = data[:len(data) // 2]
    bad.write_bytes(content)
    for proc in (run_tool('tools/test.py', JOINT, str(bad), '--work-dir', str(tmp_path / 't'), check=False),
                 train(JOINT, str(tmp_path / 'r'), '--resume', str(bad), check=False)):
        assert proc.returncode != 0
        assert expected in proc.stderr, proc.stderr[-2000:]
        assert 'Traceback' not in proc.stderr and 'weights_only' not in proc.stderr


def test_checkpoint_with_pickled_code_is_refused_without_unsafe_advice(tmp_path):
    """16.4: a pickle needing arbitrary globals is refused by the safe loader; the message never says to disable it."""
    bad = tmp_path / 'code.pth'
    torch.save({'state_dict': {}, 'x': tmp_path}, bad)  # a pathlib object: not an allowed global
    proc = run_tool('tools/test.py', JOINT, str(bad), '--work-dir', str(tmp_path / 't'), check=False)
    assert proc.returncode != 0 and 'safe checkpoint loader does not accept' in proc.stderr, proc.stderr[-2000:]
    assert 'weights_only' not in proc.stderr and 'Traceback' not in proc.stderr


def test_test_tool_refuses_a_checkpoint_of_another_model(run_a, tmp_path):
    """16.4: tools/test.py VMF_CONFIG joint_checkpoint -> an error listing the missing keys (was: exit 0, 3.75 %)."""
    ckpt = osp.join(run_a, 'epoch_2.pth')
    proc = run_tool('tools/test.py', VMF, ckpt, '--work-dir', str(tmp_path / 't'),
                    '--cfg-options', 'model.backbone.depth=8', check=False)  # same backbone: only the heads differ
    assert proc.returncode != 0, proc.stdout[-2000:]
    err = proc.stderr
    assert 'written by another model' in err and 'missing from the checkpoint' in err and 'head.vmf' in err, err
    assert 'not in the model' in err and 'head.fc.weight' in err


def test_resuming_a_vmf_checkpoint_with_a_linear_config_is_refused(tmp_path):
    """16.6: resume a vMF checkpoint with the joint (linear) config -> names the keys (was: an optimizer error)."""
    vmf_dir = str(tmp_path / 'vmf')
    train(VMF, vmf_dir, epochs=1, options=('model.backbone.depth=8',))
    proc = train(JOINT, str(tmp_path / 'lin'), '--resume', osp.join(vmf_dir, 'epoch_1.pth'), epochs=2, check=False)
    assert proc.returncode != 0
    assert 'written by another model' in proc.stderr and 'head.fc.weight' in proc.stderr, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr


@pytest.mark.parametrize('config, key', [(JOINT, 'model.head.num_classes'), (VMF, 'model.head.num_classes')])
def test_num_classes_smaller_than_the_labels_is_named_before_the_first_step(tmp_path, config, key):
    """16.6: num_classes=5 on 10-class digits -> the config key and the right value (was: IndexError deep in torch)."""
    proc = train(config, str(tmp_path / 'w'), check=False, options=(f'{key}=5',))
    assert proc.returncode != 0
    assert f'{key}=5' in proc.stderr and f'set {key}=10' in proc.stderr, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    assert not glob.glob(str(tmp_path / 'w' / '*.pth'))


def test_dist_train_outside_the_environment_prints_usage_and_the_way_in(tmp_path):
    """16.6: `bash tools/dist_train.sh` with no python env -> usage / how to run through tools/with_env.sh."""
    import subprocess
    env = dict(os.environ, PATH='/usr/bin:/bin')  # a shell without the pinned environment
    bare = subprocess.run(['bash', 'tools/dist_train.sh'], cwd=REPO, env=env, capture_output=True, text=True)
    assert bare.returncode == 2 and 'usage: tools/dist_train.sh CONFIG NUM_PROCS' in bare.stderr
    outside = subprocess.run(['bash', 'tools/dist_train.sh', JOINT, '2'], cwd=REPO, env=env, capture_output=True,
                             text=True)
    assert outside.returncode == 2 and 'cannot import torch' in outside.stderr, outside.stderr[-500:]
    assert 'tools/with_env.sh bash tools/dist_train.sh' in outside.stderr


def test_testing_a_checkpoint_against_other_training_counts_is_refused(tmp_path):
    """A vMF checkpoint stores its training counts: tools/test.py with another imbalance of the train set (so another
    many / medium / few grouping) stops with both count vectors instead of reporting a wrongly grouped result."""
    vmf_dir = str(tmp_path / 'vmf')
    train(VMF, vmf_dir, epochs=1)
    ckpt = osp.join(vmf_dir, 'epoch_1.pth')
    same = run_tool('tools/test.py', VMF, ckpt, '--work-dir', str(tmp_path / 't1'), '--cfg-options',
                    'model.backbone.depth=8')
    assert 'accuracy/top1' in same.stdout + same.stderr
    other = run_tool('tools/test.py', VMF, ckpt, '--work-dir', str(tmp_path / 't2'), '--cfg-options',
                     'model.backbone.depth=8', 'train_dataloader.dataset.imb_factor=10', check=False)
    text = other.stdout + other.stderr
    assert other.returncode != 0
    assert 'trained on other per-class counts' in text and 'imb_factor' in text
