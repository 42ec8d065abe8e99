"""The one helper module of the command-line tools (tools/*.py, tools/*/*.py).

Config loading with scope checks and launcher set-up, the one checkpoint-loading path (``ltplug.engine.checks``: a
clear error for a bad file, strict by default), models and feature extraction, class counts and shot thresholds,
feature files and written configs, the post-hoc sweep of the post-training tools (logit-adjustment tau, vMF
calibration alpha: sweep, choose, table, new checkpoint), and the guard that never writes over an existing file
without ``--force``. Run-time hooks (e.g. ``RunStateHook``) live in ``ltplug.engine.hooks``, usable by any Runner.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import importlib.util
import json
import math
import os
import os.path as osp
import sys
from collections.abc import Callable, Iterable

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, REPO)
TOOLS = osp.join(REPO, 'tools')
if TOOLS not in sys.path:  # tools/<group>/<tool>.py import this module as `_common`
    sys.path.insert(0, TOOLS)

SPLITS = ('train', 'val', 'test')
FEATURE_FILE_VERSION = 1
DEFAULT_SHOT_THRESHOLDS = (100, 20)  # many > 100, few < 20 training images (the papers' split)

# default_scope -> (import name, distribution name); the pinned versions come from ltplug/version.py
SCOPES = {
    'mmpretrain': ('mmpretrain', 'mmpretrain'),
    'mmseg': ('mmseg', 'mmsegmentation'),
    'mmdet': ('mmdet', 'mmdet'),
    'mmengine': ('mmengine', 'mmengine'),
}


def pinned(distribution: str) -> str:
    """``name==version`` of a distribution as pinned in ``ltplug/version.py`` (where the stack's versions live)."""
    from ltplug.version import PINS

    return f'{distribution}=={PINS[distribution]}' if distribution in PINS else distribution


class ToolError(SystemExit):
    """A user-facing error: exits with ``error: <message>``, no stack trace."""

    def __init__(self, message: str) -> None:
        super().__init__(f'error: {message}')


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
    import_name, distribution = SCOPES.get(name, (name, name))
    if importlib.util.find_spec(import_name) is None:
        pip_name = pinned(distribution)
        raise ToolError(f'this config needs `{pip_name}` (import name `{import_name}`), which is not installed in '
                        f'{sys.executable}. Set up the pinned stack with `make setup` (or `bash tools/setup.sh`) and '
                        'run the tools through `tools/with_env.sh python tools/...`.')


def read_config(path: str, cfg_options: dict | None = None):
    """Load a config with --cfg-options applied, its scope's library checked, ltplug registered and the scope set."""
    check_library('mmengine')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import ltplug.compat  # noqa: F401  (mmengine's package look-ups for `mmseg::` bases without pkg_resources)

    if not osp.isfile(path):
        raise ToolError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope', None)
    if scope is None:
        raise ToolError(f'{path} sets no default_scope; set it to one of {sorted(SCOPES)}')
    check_library(scope)
    import ltplug  # noqa: F401  (registers every component; also done by custom_imports in our configs)

    init_default_scope(scope)
    return cfg


def parse_cfg_options(options: list[str] | None) -> dict | None:
    """``key=value`` strings (``--cfg-options`` given as plain strings) parsed the way mmengine's DictAction does."""
    if not options:
        return None
    from mmengine.config import DictAction as _DictAction

    namespace = argparse.Namespace()
    _DictAction(option_strings=['--cfg-options'], dest='cfg_options')(None, namespace, options)
    return namespace.cfg_options


def load_config(args: argparse.Namespace):
    """:func:`read_config` of ``args.config`` plus the runner tools' launcher and work dir."""
    cfg = read_config(args.config, args.cfg_options)
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
        raise ToolError(f'launcher {launcher!r} is not supported without a GPU; use pytorch (torchrun) or slurm')
    kwargs = {} if timeout is None else {'timeout': datetime.timedelta(seconds=int(timeout))}
    dist.init_process_group(backend='gloo', **kwargs)


def build_runner(cfg):
    """Build the runner the config asks for (``runner_type``) or mmengine's default one."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


# ------------------------------------------------------------------------------------------------ files
def check_new_file(path: str, force: bool, what: str = '--out', protected: tuple[str, ...] = ()) -> None:
    """Refuse to write over an existing file unless ``--force``, and ever over a protected path (an input file).

    Creates the parent directory.
    """
    real = osp.realpath(path)
    if any(osp.exists(p) and osp.realpath(p) == real for p in protected):
        raise ToolError(f'refusing to write {what} over {path}, an input of this tool (the input checkpoint / config '
                        'is never overwritten); choose another path')
    if osp.exists(path) and not force:
        raise ToolError(f'{what} {path} exists; pass --force to overwrite it (or choose another path)')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)


def now() -> str:
    return datetime.datetime.now().isoformat(timespec='seconds')


def save_features(path: str, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write a feature file (.npz): ``<split>_feats`` (N, d) float32, ``<split>_labels`` (N,), ``class_counts``,
    optionally ``fc_weight`` / ``fc_bias``, and a JSON ``meta`` string (config, checkpoint, thresholds, ...)."""
    meta = dict(meta, version=FEATURE_FILE_VERSION)
    tmp = path + '.tmp.npz'
    np.savez(tmp, meta=np.asarray(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


class FeatureFile:
    """A feature file written by ``extract_features.py``, with checks that name the file and the missing piece."""

    def __init__(self, path: str) -> None:
        if not osp.isfile(path):
            raise ToolError(f'feature file not found: {path} (write it with tools/decoupling/extract_features.py)')
        self.path = path
        with np.load(path, allow_pickle=False) as data:
            self.arrays = {k: data[k] for k in data.files}
        if 'meta' not in self.arrays:
            raise ToolError(f'{path}: not a feature file of tools/decoupling/extract_features.py (no meta entry)')
        self.meta = json.loads(str(self.arrays.pop('meta')))
        if 'class_counts' not in self.arrays:
            raise ToolError(f'{path}: no class_counts entry')
        self.class_counts = self.arrays['class_counts'].astype(np.int64)
        self.num_classes = int(self.class_counts.size)

    @property
    def splits(self) -> list[str]:
        return [s for s in SPLITS if f'{s}_feats' in self.arrays]

    def check_source(self, weight, checkpoint: str) -> None:
        """Refuse features extracted from another checkpoint than ``checkpoint`` (whose classifier weight is given)."""
        if 'fc_weight' in self.arrays and weight is not None and \
                not np.allclose(self.arrays['fc_weight'], np.asarray(weight, dtype=np.float32), atol=1e-6):
            raise ToolError(f'{self.path} was not extracted from {checkpoint}: their classifier weights differ')

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, d), labels (N,)) of a split, validated (finite, labels in range)."""
        if f'{name}_feats' not in self.arrays:
            raise ToolError(f'{self.path} has no {name!r} split (it has {self.splits}); re-run extract_features.py '
                            f'with --splits including {name}')
        feats = self.arrays[f'{name}_feats']
        labels = self.arrays[f'{name}_labels'].astype(np.int64)
        if feats.ndim != 2 or feats.shape[0] != labels.size:
            raise ToolError(f'{self.path}: {name}_feats has shape {feats.shape} for {labels.size} labels')
        if not np.isfinite(feats).all():
            rows = np.flatnonzero(~np.isfinite(feats).all(axis=1))[:10].tolist()
            raise ToolError(f'{self.path}: {name}_feats holds NaN/inf features (rows {rows}); the checkpoint or the '
                            'data is broken')
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ToolError(f'{self.path}: {name}_labels outside [0, {self.num_classes})')
        return feats, labels


def check_new_config(path: str, force: bool, protected: tuple[str, ...] = ()) -> None:
    """``--out-config`` must be a new ``.py`` file (or ``--force``), never an input."""
    if not path.endswith('.py'):
        raise ToolError(f'--out-config must be a .py file, got {path}')
    check_new_file(path, force, '--out-config', protected=protected)


def write_config(path: str, tool: str, base_config: str, comments: list[str], body: str, checkpoint: str) -> None:
    """A config written by a tool: provenance comments, ``_base_`` (absolute: the file may go anywhere), ``body`` and
    ``load_from`` the checkpoint written with it; the comments end with the command that tests it."""
    lines = [*comments, f'Test: python tools/test.py {path} {checkpoint}']
    text = (f'# Written by {tool} on {now()}.\n' + ''.join(f'# {line}\n' for line in lines)
            + f'_base_ = [{osp.abspath(base_config)!r}]\n' + body + f'load_from = {osp.abspath(checkpoint)!r}\n')
    with open(path, 'w') as f:
        f.write(text)


# ------------------------------------------------------------------------------------------------ shots
def shot_thresholds(cfg, many_thr: int | None = None, few_thr: int | None = None) -> tuple[int, int]:
    """(many_thr, few_thr): the command line, else the config's val_evaluator, else the papers' 100 / 20."""
    ev = cfg.get('val_evaluator', None) if cfg is not None else None
    found: dict[str, int] = {}
    for metric in ev if isinstance(ev, (list, tuple)) else [ev] if ev else []:
        for key in ('many_thr', 'few_thr'):
            if isinstance(metric, dict) and key in metric:
                found.setdefault(key, int(metric[key]))
    return (many_thr if many_thr is not None else found.get('many_thr', DEFAULT_SHOT_THRESHOLDS[0]),
            few_thr if few_thr is not None else found.get('few_thr', DEFAULT_SHOT_THRESHOLDS[1]))


def shot_row(pred: np.ndarray, labels: np.ndarray, class_counts: np.ndarray, many_thr: int, few_thr: int,
             empty_nan: bool = False) -> dict:
    """many / medium / few (macro over classes) and all (micro top-1), in percent; with ``empty_nan`` a split with no
    evaluated class is NaN (printed n/a), never 0."""
    from ltplug.core.shot_metrics import empty_splits, per_class_accuracy, per_class_correct, shot_accuracies

    correct, total = per_class_correct(pred, labels, class_counts.size)
    class_acc = per_class_accuracy(correct, total)
    row = shot_accuracies(class_acc, class_counts, many_thr, few_thr)
    empty = empty_splits(class_acc, class_counts, many_thr, few_thr) if empty_nan else []
    row = {k: (math.nan if k in empty else 100.0 * v) for k, v in row.items()}
    row['all'] = 100.0 * float(correct.sum() / max(1, total.sum()))
    return row


def format_table(rows: list[tuple[str, dict]], title: str) -> str:
    head = f'{title:>12} | {"many":>6} | {"medium":>6} | {"few":>6} | {"all":>6}'
    lines = [head, '-' * len(head)]
    for name, r in rows:
        lines.append(f'{name:>12} | {r["many"]:6.2f} | {r["medium"]:6.2f} | {r["few"]:6.2f} | {r["all"]:6.2f}')
    return '\n'.join(lines)


# ------------------------------------------------------------------------------------------------ post-hoc sweeps
# The post-training tools (logit adjustment tau, vMF calibration alpha) extract what they need once
# (``extract_features``: the input or the output of one sub-module), then ``sweep`` evaluates a ``logits_for(value)``
# callable for every value: many / medium / few / all top-1 (percent, the LongTailAccuracy protocol) and the softmax
# ECE (percent, 15 equal-width bins); docs/methods.md §8.3 and §8.4.
SWEEP_COLUMNS = ('many', 'medium', 'few', 'all', 'ece')


def evaluate_logits(logits, labels: np.ndarray, counts: np.ndarray, many_thr: int, few_thr: int) -> dict[str, float]:
    """Shot accuracies (an empty split NaN), top-1 and softmax ECE (all percent) of N x C logits (tensor or array)."""
    import torch

    from ltplug.core.calibration_metrics import expected_calibration_error

    logits = torch.as_tensor(logits).detach().double()
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    counts = np.asarray(counts)
    if logits.dim() != 2 or logits.shape[1] != counts.size:
        raise ValueError(f'sweep: the model gives {tuple(logits.shape)} scores but the class counts have '
                         f'{counts.size} classes')
    probs = torch.softmax(logits, dim=1).numpy()
    row = shot_row(probs.argmax(axis=1), labels, counts, many_thr, few_thr, empty_nan=True)
    row['ece'] = 100.0 * expected_calibration_error(probs, labels)
    return row


def sweep(name: str, values: Iterable[float], logits_for: Callable[[float], object], labels: np.ndarray,
          counts: np.ndarray, many_thr: int, few_thr: int) -> list[dict]:
    """One row per value: ``{name: value, many, medium, few, all, ece}``."""
    return [{name: float(v), **evaluate_logits(logits_for(float(v)), labels, counts, many_thr, few_thr)}
            for v in values]


def choose(rows: list[dict], name: str, column: str, neutral: float) -> float:
    """The value with the best ``column`` (highest accuracy, or lowest ECE); ties: the one closest to ``neutral``
    (the unchanged model)."""
    if column not in SWEEP_COLUMNS:
        raise ValueError(f'sweep: cannot select by {column!r}; choose one of {SWEEP_COLUMNS}')
    valid = [r for r in rows if not math.isnan(r[column])]
    if not valid:
        raise ValueError(f'sweep: the {column!r} column is empty (no evaluated class in that split); select by another')
    sign = -1.0 if column == 'ece' else 1.0
    best = max(valid, key=lambda r: (round(sign * r[column], 9), -abs(r[name] - neutral)))
    return best[name]


def jsonable(rows: list[dict]) -> list[dict]:
    """The rows with NaN (an empty split) as None, so that the JSON file is standard JSON."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]


def format_sweep(rows: list[dict], name: str, chosen: float | None = None) -> str:
    """Fixed-width table of a sweep (empty splits print as n/a)."""
    lines = [f'{name:>6} | ' + ' | '.join(f'{c:>7}' for c in SWEEP_COLUMNS)]
    lines.append('-' * len(lines[0]))
    for r in rows:
        mark = '  <- chosen' if chosen is not None and r[name] == chosen else ''
        cells = ' | '.join(f'{"n/a":>7}' if math.isnan(r[c]) else f'{r[c]:>7.2f}' for c in SWEEP_COLUMNS)
        lines.append(f'{r[name]:>6.2f} | {cells}{mark}')
    return '\n'.join(lines)


def add_sweep_args(parser: argparse.ArgumentParser, name: str, defaults: Iterable[float], value_help: str,
                   neutral_help: str, out_help: str) -> None:
    """The options every post-hoc sweep tool has: the values, --split, --select, --out, --force, --no-save, --json,
    --max-batches."""
    parser.add_argument(f'--{name}s', type=float, nargs='+', default=list(defaults), help=value_help)
    parser.add_argument('--split', default='val', choices=['val', 'test'], help='dataloader of the config to sweep on')
    parser.add_argument('--select', default='all', choices=SWEEP_COLUMNS,
                        help=f'column that picks the best {name} (ties: {neutral_help})')
    parser.add_argument('--out', help=out_help)
    parser.add_argument('--force', action='store_true',
                        help='overwrite --out if it exists (never the input checkpoint)')
    parser.add_argument('--no-save', action='store_true', help='only print the sweep')
    parser.add_argument('--json', help='also write the sweep table to this JSON file')
    parser.add_argument('--max-batches', type=int, help='use only the first N batches (quick checks)')


def checked_outputs(args: argparse.Namespace, suffix: str) -> str:
    """The checkpoint to write (``--out`` or ``<checkpoint><suffix>``), after refusing to write over the input or,
    without ``--force``, over an existing ``--out`` / ``--json`` (checked before any work is done)."""
    out = args.out or osp.splitext(args.checkpoint)[0] + suffix
    if not args.no_save:
        check_new_file(out, args.force, '--out', protected=(args.checkpoint,))
    if args.json:
        check_new_file(args.json, args.force, '--json', protected=(args.checkpoint, out))
    return out


def run_sweep(args: argparse.Namespace, cfg, name: str, logits_for: Callable[[float], object], labels: np.ndarray,
              counts: np.ndarray, neutral: float, what: str, note: str = '') -> dict:
    """Sweep ``args.<name>s`` on ``args.split``, choose by ``args.select`` (ties: nearest ``neutral``), print the table,
    write ``--json`` (NaN as null) and return the tool's result: rows, the chosen value, select, split, checkpoint."""
    many_thr, few_thr = shot_thresholds(cfg)
    try:
        rows = sweep(name, getattr(args, f'{name}s'), logits_for, labels, counts, many_thr, few_thr)
        chosen = choose(rows, name, args.select, neutral)
    except ValueError as e:
        raise ToolError(str(e)) from None
    print(f'{what} on the {args.split} split ({len(labels)} images; many > {many_thr}, few < {few_thr} training '
          f'images; {note}best by {args.select!r}):')
    print(format_sweep(rows, name, chosen))
    result = {'rows': rows, name: chosen, 'select': args.select, 'split': args.split, 'checkpoint': args.checkpoint}
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({**result, 'rows': jsonable(rows)}, f, indent=1)
    return result


def save_new_checkpoint(ckpt: dict, out: str, meta_key: str, result: dict, **meta) -> dict:
    """Write ``ckpt`` with ``meta[meta_key]`` = the sweep ``result`` (chosen value, select, split, rows) + ``meta`` +
    the source checkpoint to ``out`` atomically (a temporary file, then a rename); the caller has checked with
    ``checked_outputs`` that ``out`` is neither the input nor an existing file. Returns ``result`` with ``out``."""
    import torch

    info = {k: v for k, v in result.items() if k not in ('rows', 'checkpoint')}
    info.update(meta, source_checkpoint=osp.abspath(result['checkpoint']), sweep=result['rows'])
    if not isinstance(ckpt.get('meta'), dict):
        ckpt['meta'] = {}
    ckpt['meta'][meta_key] = info
    tmp = out + '.tmp'
    torch.save(ckpt, tmp)
    os.replace(tmp, osp.abspath(out))
    return dict(result, out=out)


# ------------------------------------------------------------------------------------------------ checkpoints / model
def read_checkpoint(path: str) -> dict:
    """The checkpoint dict of a file (safe loader), or exit with what is wrong with the file."""
    from ltplug.engine.checks import CheckpointError
    from ltplug.engine.checks import read_checkpoint as _read

    try:
        return _read(path)
    except CheckpointError as e:
        raise ToolError(str(e)) from None


def check_checkpoint_file(path: str) -> None:
    """Exit with what is wrong when a file cannot be a checkpoint (missing, empty, foreign, truncated)."""
    from ltplug.engine.checks import CheckpointError
    from ltplug.engine.checks import check_checkpoint_file as _check

    try:
        _check(path)
    except CheckpointError as e:
        raise ToolError(str(e)) from None


def read_state_dict(path: str) -> tuple[dict, dict]:
    """(state_dict without ``module.``, meta) of a checkpoint file."""
    from ltplug.engine.checks import CheckpointError, checkpoint_state_dict

    ckpt = read_checkpoint(path)
    try:
        state = checkpoint_state_dict(ckpt, path)
    except CheckpointError as e:
        raise ToolError(str(e)) from None
    return state, dict(ckpt.get('meta', {}) or {})


def load_into(model, checkpoint: str | dict, path: str, strict: bool = True) -> dict:
    """Load a checkpoint (file or dict) into ``model`` through the one checked path; exit with the reason on failure."""
    from ltplug.engine.checks import CheckpointError, load_model_checkpoint

    try:
        return load_model_checkpoint(model, checkpoint, strict=strict, path=path)
    except CheckpointError as e:
        raise ToolError(str(e)) from None


def build_model(cfg, checkpoint: str | None = None, device: str = 'cpu', strict: bool = True):
    """(model in eval mode, checkpoint dict or None): ``cfg.model`` built the way mmengine's Runner does (top-level
    data_preprocessor merged, SyncBN reverted) with the checkpoint loaded strictly unless ``strict=False``."""
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import MODELS

    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor', None) is not None:
        model_cfg.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    ckpt = None
    if checkpoint is not None:
        ckpt = load_into(model, read_checkpoint(checkpoint), checkpoint, strict)
    return model.to(device).eval(), ckpt


def single_vmf_classifier(model, where: str):
    """(name, module) of the one VMFClassifier in the model; a clear error for none or several."""
    from ltplug.engine.hooks import find_vmf_classifiers

    found = find_vmf_classifiers(model)
    if len(found) != 1:
        names = [n for n, _ in found]
        raise ToolError(f'{where} expects exactly one VMFClassifier in the model, found {len(found)} {names}; '
                        'is model.head a VMFClsHead?')
    return found[0]


# ------------------------------------------------------------------------------------------------ data / features
# Wrappers that change how often images are drawn, not which images form the split: the tools look through them.
# A wrapper that selects images (LongTailSubset, CategoryExtrapolationDataset's target, ...) IS the split.
RESAMPLING_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')


def _type_name(ds: dict) -> str:
    t = ds.get('type', '')
    return (t if isinstance(t, str) else getattr(t, '__name__', str(t))).rsplit('.', 1)[-1]


def split_dataset_cfg(ds: dict) -> dict:
    """The config of the data set whose images form the split (through ``RESAMPLING_WRAPPERS`` only)."""
    while _type_name(ds) in RESAMPLING_WRAPPERS and isinstance(ds.get('dataset'), dict):
        ds = ds['dataset']
    return ds


def _loading_dataset_cfg(ds: dict) -> dict:
    """The innermost config with a pipeline: the data set that loads the images (inside any wrapper)."""
    while 'pipeline' not in ds and isinstance(ds.get('dataset'), dict):
        ds = ds['dataset']
    return ds


def dataset_pipeline(ds: dict) -> list:
    """The pipeline a (possibly wrapped) data set config loads its images with."""
    return copy.deepcopy(_loading_dataset_cfg(ds).get('pipeline', []))


def with_pipeline(ds: dict, pipeline: list) -> dict:
    """A copy of the split's config ``ds`` whose loading data set uses ``pipeline`` (the wrappers kept)."""
    ds = copy.deepcopy(ds)
    _loading_dataset_cfg(ds)['pipeline'] = copy.deepcopy(pipeline)
    return ds


def plain_split_loader(cfg, split: str, batch_size: int | None = None):
    """A sequential, non-dropping dataloader over a split; ``train`` uses the test pipeline (no augmentation)."""
    from mmengine.runner import Runner

    key = f'{split}_dataloader'
    if cfg.get(key, None) is None:
        raise ToolError(f'the config has no {key}')
    loader = copy.deepcopy(cfg[key])
    if split == 'train':
        test_loader = cfg.get('test_dataloader', None) or cfg.get('val_dataloader', None)
        if test_loader is None:
            raise ToolError('the config has neither test_dataloader nor val_dataloader to take the test pipeline from')
        loader['dataset'] = with_pipeline(split_dataset_cfg(loader['dataset']),
                                          dataset_pipeline(test_loader['dataset']))
        if batch_size is None:
            batch_size = test_loader.get('batch_size', loader.get('batch_size'))
    loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader.pop('batch_sampler', None)
    loader['drop_last'] = False
    if batch_size is not None:
        loader['batch_size'] = int(batch_size)
    return Runner.build_dataloader(loader, seed=0)


def train_class_counts(cfg, num_classes: int, allow_empty: bool = True) -> np.ndarray:
    """Per-class counts of the (unwrapped) training set of the config, checked against ``num_classes``."""
    from mmengine.registry import DATASETS

    from ltplug.core.counts import check_class_counts, dataset_class_counts

    if cfg.get('train_dataloader', None) is None:
        raise ToolError('the config has no train_dataloader to count the training images per class from')
    ds_cfg = with_pipeline(split_dataset_cfg(cfg.train_dataloader['dataset']), [])
    counts = dataset_class_counts(DATASETS.build(ds_cfg), num_classes)
    return check_class_counts(counts, num_classes, where='training set of the config', allow_empty=allow_empty)


def check_train_coverage(labels: np.ndarray, counts: np.ndarray) -> None:
    """The training features must cover the training set exactly once per image (a sequential, non-dropping loader)."""
    from_feats = np.bincount(labels, minlength=counts.size)
    if not np.array_equal(from_feats, counts):
        raise ToolError('the training features do not cover the training set once per image '
                        f'({int(from_feats.sum())} features vs {int(counts.sum())} training images); re-extract them')


def extract_splits(cfg, model, splits, batch_size: int | None = None) -> tuple[dict, np.ndarray]:
    """({split: (features, labels)} of ``head.pre_logits`` over sequential loaders, training class counts), the
    training features checked to cover the training set once."""
    num_classes = getattr(model.head, 'num_classes', None)
    found = {}
    for split in dict.fromkeys(splits):
        loader = plain_split_loader(cfg, split, batch_size)
        print(f'extracting {split}: {len(loader.dataset)} samples', flush=True)
        found[split] = extract_features(model, loader, log_every=50)
        if num_classes is None:
            num_classes = int(found[split][1].max()) + 1
    counts = train_class_counts(cfg, num_classes)
    if 'train' in found:
        check_train_coverage(found['train'][1], counts)
    return found, counts


def extract_features(model, loader, module=None, max_batches: int | None = None, log_every: int = 0,
                     capture: str = 'input') -> tuple[np.ndarray, np.ndarray]:
    """Classifier-input features (N, d) float32 and labels (N,) int64 of every sample of ``loader``.

    Without ``module`` the features are ``head.pre_logits`` of the neck output (the decoupling tools); with it, what
    that module receives (``capture='input'``, its first argument: e.g. a VMFClassifier's features inside any head) or
    returns (``'output'``: e.g. the head's logits) during ``model.test_step``.
    """
    import torch

    if capture not in ('input', 'output'):
        raise ValueError(f"capture must be 'input' or 'output', got {capture!r}")
    feats, labels = [], []
    handle = None
    if module is not None and capture == 'input':
        handle = module.register_forward_pre_hook(lambda _m, inputs: feats.append(inputs[0].detach().float().cpu()))
    elif module is not None:
        handle = module.register_forward_hook(lambda _m, _inputs, out: feats.append(out.detach().float().cpu()))
    try:
        with torch.no_grad():
            for i, batch in enumerate(loader):
                if max_batches is not None and i >= max_batches:
                    break
                if module is None:
                    data = model.data_preprocessor(batch, False)
                    feats.append(model.head.pre_logits(model.extract_feat(data['inputs'])).float().cpu())
                    samples = data['data_samples']
                else:
                    samples = model.test_step(batch)
                labels.append(torch.cat([s.gt_label.reshape(-1).cpu() for s in samples]))
                if log_every and (i + 1) % log_every == 0:
                    print(f'  batch {i + 1}/{len(loader)}', flush=True)
    finally:
        if handle is not None:
            handle.remove()
    x = torch.cat(feats).numpy().astype(np.float32)
    y = torch.cat(labels).numpy().astype(np.int64)
    if x.shape[0] != y.shape[0]:
        raise ToolError(f'captured {x.shape[0]} feature rows for {y.shape[0]} labels (test-time augmentation?); '
                        'the tools need one classifier row per sample')
    return x, y


# ------------------------------------------------------------------------------------------------ training runs
def seeded_train_loader(cfg) -> None:
    """Give the train dataloader's workers per-epoch seeds that a resume reproduces (unless the config sets its own)."""
    loader = cfg.get('train_dataloader', None)
    if loader and loader.get('num_workers', 0) and 'worker_init_fn' not in loader:
        loader['worker_init_fn'] = dict(type='ltplug_seeded_worker_init')
