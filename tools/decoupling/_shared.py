"""Helpers shared by the decoupling tools: config / model / data loading, feature files, shot tables, safe writing."""
from __future__ import annotations

import copy
import datetime
import json
import os
import os.path as osp
import sys

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, REPO)

SPLITS = ('train', 'val', 'test')
FEATURE_FILE_VERSION = 1


class ToolError(SystemExit):
    """A user-facing error: exits with the message, no stack trace."""

    def __init__(self, message: str) -> None:
        super().__init__(f'error: {message}')


# ------------------------------------------------------------------------------------------------ files
def check_writable(path: str, force: bool, what: str) -> None:
    """Refuse to overwrite an existing file unless ``--force``; create the parent directory."""
    if osp.exists(path) and not force:
        raise ToolError(f'{what} {path} exists; pass --force to overwrite it')
    parent = osp.dirname(osp.abspath(path))
    os.makedirs(parent, exist_ok=True)


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


# ------------------------------------------------------------------------------------------------ metrics
def shot_row(pred: np.ndarray, labels: np.ndarray, class_counts: np.ndarray, many_thr: int, few_thr: int) -> dict:
    """many / medium / few (macro over classes) and all (micro top-1), in percent."""
    from ltplug.core.shot_metrics import per_class_accuracy, per_class_correct, shot_accuracies

    correct, total = per_class_correct(pred, labels, class_counts.size)
    row = shot_accuracies(per_class_accuracy(correct, total), class_counts, many_thr, few_thr)
    row['all'] = float(correct.sum() / max(1, total.sum()))
    return {k: 100.0 * v for k, v in row.items()}


def format_table(rows: list[tuple[str, dict]], title: str) -> str:
    head = f'{title:>12} | {"many":>6} | {"medium":>6} | {"few":>6} | {"all":>6}'
    lines = [head, '-' * len(head)]
    for name, r in rows:
        lines.append(f'{name:>12} | {r["many"]:6.2f} | {r["medium"]:6.2f} | {r["few"]:6.2f} | {r["all"]:6.2f}')
    return '\n'.join(lines)


def thresholds_from_config(cfg, many_thr: int | None, few_thr: int | None) -> tuple[int, int]:
    """Shot thresholds: the command line, else the config's val_evaluator (``many_thr``/``few_thr``), else 100/20."""
    ev = cfg.get('val_evaluator', None) if cfg is not None else None
    evs = ev if isinstance(ev, (list, tuple)) else [ev] if ev else []
    found = {}
    for e in evs:
        for key in ('many_thr', 'few_thr'):
            if isinstance(e, dict) and key in e:
                found.setdefault(key, int(e[key]))
    return (many_thr if many_thr is not None else found.get('many_thr', 100),
            few_thr if few_thr is not None else found.get('few_thr', 20))


# ------------------------------------------------------------------------------------------------ config / model
def load_config(path: str, cfg_options: dict | None = None):
    """Load an OpenMMLab config with ltplug registered and its default scope set."""
    if not osp.isfile(path):
        raise ToolError(f'config file not found: {path}')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import ltplug  # noqa: F401

    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    return cfg


def build_model(cfg, checkpoint: str | None, device: str = 'cpu'):
    """Build ``cfg.model`` the way mmengine's Runner does (top-level data_preprocessor merged) and load a checkpoint."""
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import MODELS
    from mmengine.runner import load_checkpoint

    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor', None) is not None:
        model_cfg.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise ToolError(f'checkpoint not found: {checkpoint}')
        load_checkpoint(model, checkpoint, map_location='cpu', strict=False)
    return model.to(device).eval()


def read_state_dict(checkpoint: str) -> tuple[dict, dict]:
    """(state_dict, meta) of an mmengine checkpoint file."""
    import torch

    import ltplug  # noqa: F401  (allow-lists the plain-data classes of mmengine checkpoints for weights_only loading)

    if not osp.isfile(checkpoint):
        raise ToolError(f'checkpoint not found: {checkpoint}')
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ToolError(f'{checkpoint}: no state_dict in this checkpoint')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    return state, dict(ckpt.get('meta', {}) or {})


def plain_split_loader(cfg, split: str, batch_size: int | None = None):
    """A sequential, non-dropping dataloader over a split; ``train`` uses the test pipeline (no augmentation)."""
    from mmengine.runner import Runner

    key = f'{split}_dataloader'
    if cfg.get(key, None) is None:
        raise ToolError(f'the config has no {key}')
    loader = copy.deepcopy(cfg[key])
    if split == 'train':
        ds = loader['dataset']
        while 'pipeline' not in ds and isinstance(ds.get('dataset'), dict):  # unwrap RepeatDataset & co
            ds = ds['dataset']
        test_loader = cfg.get('test_dataloader', None) or cfg.get('val_dataloader', None)
        if test_loader is None:
            raise ToolError('the config has neither test_dataloader nor val_dataloader to take the test pipeline from')
        test_ds = test_loader['dataset']
        while 'pipeline' not in test_ds and isinstance(test_ds.get('dataset'), dict):
            test_ds = test_ds['dataset']
        ds = copy.deepcopy(ds)
        ds['pipeline'] = copy.deepcopy(test_ds['pipeline'])
        loader['dataset'] = ds
        if batch_size is None:
            batch_size = test_loader.get('batch_size', loader.get('batch_size'))
    loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader.pop('batch_sampler', None)
    loader['drop_last'] = False
    if batch_size is not None:
        loader['batch_size'] = int(batch_size)
    return Runner.build_dataloader(loader)


def train_class_counts(cfg, num_classes: int) -> np.ndarray:
    """Per-class counts of the (unwrapped) training set of the config, checked against ``num_classes``."""
    from mmengine.registry import DATASETS

    from ltplug.core.counts import check_class_counts, dataset_class_counts

    if cfg.get('train_dataloader', None) is None:
        raise ToolError('the config has no train_dataloader to count the training images per class from')
    ds_cfg = copy.deepcopy(cfg.train_dataloader['dataset'])
    while 'pipeline' not in ds_cfg and isinstance(ds_cfg.get('dataset'), dict):
        ds_cfg = ds_cfg['dataset']
    ds_cfg['pipeline'] = []
    counts = dataset_class_counts(DATASETS.build(ds_cfg), num_classes)
    return check_class_counts(counts, num_classes, where='training set of the config', allow_empty=True)


def extract(model, loader, device: str = 'cpu', log_every: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Features fed to the classifier (``head.pre_logits`` of the neck output) and labels of every sample."""
    import torch

    feats, labels = [], []
    n = len(loader)
    with torch.no_grad():
        for i, batch in enumerate(loader):
            data = model.data_preprocessor(batch, False)
            x = model.head.pre_logits(model.extract_feat(data['inputs']))
            feats.append(x.float().cpu().numpy())
            labels.append(torch.cat([s.gt_label for s in data['data_samples']]).cpu().numpy())
            if log_every and (i + 1) % log_every == 0:
                print(f'  batch {i + 1}/{n}', flush=True)
    return np.concatenate(feats).astype(np.float32), np.concatenate(labels).astype(np.int64)


def config_header(tool: str, base_config: str, lines: list[str]) -> str:
    """Start of a config written by a tool: provenance comments and ``_base_`` (absolute: the file may go anywhere)."""
    comments = ''.join(f'# {line}\n' for line in lines)
    return (f'# Written by tools/decoupling/{tool} on {now()}.\n{comments}'
            f'_base_ = [{osp.abspath(base_config)!r}]\n')
