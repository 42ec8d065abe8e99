"""Shared pieces of the vMF tools: model from a config + checkpoint, its VMFClassifier, feature extraction."""
from __future__ import annotations

import os
import os.path as osp
import sys

import numpy as np

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
from _common import REPO, add_common_args, load_config  # noqa: E402,F401  (REPO: the checkout on sys.path)


def load_model(args):
    """(cfg, model in eval mode with the checkpoint loaded, checkpoint dict). Exits with a message on a bad path."""
    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint not found: {args.checkpoint}')
    cfg = load_config(args)
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model

    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = cfg.model.copy()
    if 'data_preprocessor' not in model_cfg and cfg.get('data_preprocessor') is not None:
        model_cfg['data_preprocessor'] = cfg.data_preprocessor  # as Runner does
    model = MODELS.build(model_cfg)
    ckpt = _load_checkpoint(args.checkpoint, map_location='cpu')
    _load_checkpoint_to_model(model, ckpt, strict=True)
    model.eval()
    return cfg, model, ckpt


def op_description(classifier) -> str:
    """What the calibration statistics op of this classifier are (for the printed report)."""
    from ltplug.core.vmf import OP_SOURCES

    if int(classifier.op_source) == OP_SOURCES.index('icd'):
        return 'op = ICD overlap row means of the last training step'
    if classifier.op_fallback == 'overlap':
        return 'op = overlap row means of the final weights (fallback without ICD)'
    return 'op = b(kappa) of the last training step (official fallback without ICD)'


def single_vmf_classifier(model, where: str):
    """(name, module) of the one VMFClassifier in the model; a clear error for none or several."""
    from ltplug.engine.hooks import find_vmf_classifiers

    found = find_vmf_classifiers(model)
    if len(found) != 1:
        names = [n for n, _ in found]
        sys.exit(f'error: {where} expects exactly one VMFClassifier in the model, found {len(found)} {names}; '
                 'is model.head a VMFClsHead?')
    return found[0]


def extract_features(cfg, model, classifier, split: str, max_batches: int | None = None):
    """Run the ``<split>_dataloader`` once; return the classifier's input features (N, d) and the labels (N,)."""
    import torch
    from mmengine.runner import Runner

    key = f'{split}_dataloader'
    if cfg.get(key) is None:
        sys.exit(f'error: the config has no {key}')
    loader = Runner.build_dataloader(cfg[key], seed=0)
    feats, labels = [], []

    def grab(module, inputs):
        feats.append(inputs[0].detach().float().cpu())

    handle = classifier.register_forward_pre_hook(grab)
    try:
        with torch.no_grad():
            for i, batch in enumerate(loader):
                if max_batches is not None and i >= max_batches:
                    break
                outputs = model.test_step(batch)
                labels.append(torch.cat([o.gt_label.reshape(-1).cpu() for o in outputs]))
    finally:
        handle.remove()
    x = torch.cat(feats)
    y = torch.cat(labels).numpy().astype(np.int64)
    if x.shape[0] != y.shape[0]:
        sys.exit(f'error: captured {x.shape[0]} feature rows for {y.shape[0]} labels (test-time augmentation?); '
                 'the vMF tools need one classifier input per sample')
    return x, y


def class_counts_for(cfg, classifier) -> np.ndarray:
    """Training counts: the classifier's buffer (saved with the checkpoint) or the config's train set."""
    counts = classifier.class_counts.cpu().numpy()
    if (counts > 0).all():
        return counts.astype(np.int64)
    if cfg.get('train_dataloader') is None:
        sys.exit('error: the checkpoint holds no class counts and the config has no train_dataloader to count')
    from mmengine.registry import DATASETS

    from ltplug.core.counts import dataset_class_counts
    return dataset_class_counts(DATASETS.build(cfg.train_dataloader.dataset), classifier.num_classes)


def shot_thresholds(cfg) -> tuple[int, int]:
    """(many_thr, few_thr) of the config's LongTailAccuracy evaluator, else the papers' 100 / 20."""
    ev = cfg.get('val_evaluator') or {}
    for metric in ev if isinstance(ev, (list, tuple)) else [ev]:
        if isinstance(metric, dict) and metric.get('type') == 'LongTailAccuracy':
            return int(metric.get('many_thr', 100)), int(metric.get('few_thr', 20))
    return 100, 20


def check_new_file(path: str, force: bool, protected: tuple[str, ...] = ()) -> None:
    """Refuse to write over an existing file (unless --force) and ever over a protected path (the input checkpoint)."""
    real = osp.realpath(path)
    if any(osp.exists(p) and osp.realpath(p) == real for p in protected):
        sys.exit(f'error: refusing to write over the input checkpoint {path}; choose another --out')
    if osp.exists(path) and not force:
        sys.exit(f'error: {path} exists; choose another --out or pass --force to overwrite it')
    parent = osp.dirname(osp.abspath(path))
    os.makedirs(parent, exist_ok=True)
