"""Shared start-up for tools/train.py and tools/test.py: config loading, scope checks, launcher set-up."""
from __future__ import annotations

import argparse
import importlib.util
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, REPO)

# default_scope -> (import name, pip name)
SCOPES = {
    'mmpretrain': ('mmpretrain', 'mmpretrain==1.2.0'),
    'mmseg': ('mmseg', 'mmsegmentation==1.2.2'),
    'mmdet': ('mmdet', 'mmdet==3.3.0'),
    'mmengine': ('mmengine', 'mmengine==0.10.7'),
}


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments every OpenMMLab tool has."""
    parser.add_argument('--work-dir', help='the directory to save logs and models')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs (xxx=[a,b] for lists, a.b=c for nested keys)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


class DictAction(argparse.Action):
    """Lazy proxy to mmengine's DictAction so `--help` works before the environment check."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction as _DictAction
        _DictAction(self.option_strings, self.dest)(parser, namespace, values, option_string)


def check_library(name: str) -> None:
    """Exit with a clear message (not a stack trace) when a library the config needs is not installed."""
    import_name, pip_name = SCOPES.get(name, (name, name))
    if importlib.util.find_spec(import_name) is None:
        sys.exit(f'error: this config needs `{pip_name}` (import name `{import_name}`), which is not installed in '
                 f'{sys.executable}. Set up the pinned stack with `make setup` (or `bash tools/setup.sh`) and run '
                 'the tools '
                 'through `tools/with_env.sh python tools/...`.')


def load_config(args: argparse.Namespace):
    """Load the config, check its scope's library, register ltplug, apply --cfg-options / launcher / work dir."""
    check_library('mmengine')
    from mmengine.config import Config

    if not osp.isfile(args.config):
        sys.exit(f'error: config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope', None)
    if scope is None:
        sys.exit(f'error: {args.config} sets no default_scope; set it to one of {sorted(SCOPES)}')
    check_library(scope)
    import ltplug  # noqa: F401  (registers every component; also done by custom_imports in our configs)

    cfg.launcher = args.launcher
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    import torch
    if not torch.cuda.is_available() and cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend') == 'nccl':
        cfg.env_cfg.dist_cfg.backend = 'gloo'  # NCCL needs GPUs; gloo runs the same job on CPUs
    if args.launcher != 'none' and not torch.cuda.is_available():
        init_cpu_distributed(args.launcher, cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', None))
        # DDP over CPU modules takes no device_ids (mmengine's default passes the local rank as a GPU id)
        wrapper = cfg.get('model_wrapper_cfg', None) or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def init_cpu_distributed(launcher: str, timeout=None) -> None:
    """Start a gloo process group on CPU-only machines.

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device``, which fails without a GPU; the Runner skips its own
    initialisation when a process group already exists, so the same torchrun / slurm launch then works on CPUs.
    """
    import datetime
    import subprocess

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
        if 'MASTER_ADDR' not in os.environ:
            nodes = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(f'scontrol show hostname {nodes} | head -n1')
        os.environ.setdefault('MASTER_PORT', '29500')
    elif launcher != 'pytorch':
        sys.exit(f'error: launcher {launcher!r} is not supported without a GPU; use pytorch (torchrun) or slurm')
    kwargs = {} if timeout is None else {'timeout': datetime.timedelta(seconds=int(timeout))}
    dist.init_process_group(backend='gloo', **kwargs)


def build_runner(cfg):
    """Build the runner the config asks for (``runner_type``) or mmengine's default one."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
