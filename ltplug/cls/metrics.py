"""Long-tailed classification accuracy: overall top-1 plus many / medium / few-shot accuracy (mmpretrain METRICS).

Reports (percent, prefix ``accuracy/`` like mmpretrain's ``Accuracy``): ``top1`` (micro, over all evaluated
samples), ``many`` / ``medium`` / ``few`` (mean per-class top-1 of the classes in each split, docs/methods.md §0.1),
``mean_class`` (mean per-class accuracy over all evaluated classes) and, if asked, ``top5``. A split with no evaluated
class (e.g. no class has fewer than ``few_thr`` training images) has no accuracy: it is left out of the reported
metrics and written as ``null`` in the JSON, whose ``empty_splits`` lists it (it is never reported as 0).

Calibration (``calibration=True``, the default, when the model gives scores): ``ece`` (top-label expected calibration
error, 15 equal-width bins (b/15, (b+1)/15], :mod:`ltplug.core.calibration_metrics`), ``ece_many`` / ``ece_medium`` /
``ece_few`` (the ECE of the samples whose true class is in the split) and ``classwise_ece``, all in percent, from the
``pred_score`` probabilities (mmpretrain heads give softmax / sigmoid scores). The JSON gets the reliability bins and
a ``<tag>_reliability.png`` reliability diagram is saved beside the per-class plot.

Per-class results go to ``<save_dir>/per_class_acc/<tag>.{csv,json,png}`` (class, train count, split, test count,
correct, accuracy; the plot is per-class accuracy against training frequency). ``save_dir`` is the argument if given,
else the log directory of the running mmengine Runner (``work_dir/<timestamp>``, found from the file handler of the
current ``MMLogger``), else nothing is written. ``tag`` is ``val_epoch_<k>`` during epoch-based training
(``val_iter_<k>`` when iteration-based or single-epoch), ``test`` in a test run and ``eval`` outside a runner. Files
are written on rank 0 only, after mmengine's ``collect_results`` gathered the per-sample results of all ranks.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, MMLogger, print_log
from mmpretrain.registry import METRICS

from ltplug.core import calibration_metrics, shot_metrics
from ltplug.core.counts import ClassCountsError, check_class_counts, load_class_counts


def _as_tensor(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    return torch.as_tensor(np.asarray(value))


def runner_log_dir() -> str | None:
    """Log directory of the running mmengine Runner (directory of the current MMLogger's log file), if any."""
    logger = MMLogger.get_current_instance()
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            return osp.dirname(osp.abspath(handler.baseFilename))
    return None


@METRICS.register_module()
class LongTailAccuracy(BaseMetric):
    """Top-1 (micro) and many / medium / few-shot (macro per split) accuracy, percent.

    Args:
        num_classes: number of classes (checked against the class counts and the scores).
        many_thr: a class is *many* if its training count n_c > many_thr (default 100).
        few_thr: a class is *few* if n_c < few_thr (default 20); medium is few_thr <= n_c <= many_thr.
        class_counts: training counts (list or class-count file); otherwise ``ClassCountsHook`` calls
            ``set_class_counts`` with the train set's counts before the run.
        topk: accuracies to report over all samples, e.g. ``(1, 5)``; top-1 is always reported.
        save_dir: where per-class files go (default: the runner's log dir); ``save_per_class=False`` disables them.
        plot: also save a per-class accuracy vs. training count plot and a reliability diagram (matplotlib, Agg).
        calibration: also report ECE / per-split ECE / classwise ECE (needs ``pred_score``).
        n_bins: equal-width confidence bins of the ECE (15, the convention of Guo et al. 2017).
    """

    default_prefix: str | None = 'accuracy'
    requires_class_counts = True

    def __init__(self, num_classes: int | None = None, many_thr: int = 100, few_thr: int = 20,
                 class_counts=None, topk: int | Sequence[int] = (1,), save_dir: str | None = None,
                 save_per_class: bool = True, plot: bool = True, calibration: bool = True,
                 n_bins: int = calibration_metrics.DEFAULT_BINS, collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if few_thr > many_thr + 1:
            raise ValueError(f'LongTailAccuracy: few_thr={few_thr} must be <= many_thr + 1 (many_thr={many_thr})')
        self.num_classes = None if num_classes is None else int(num_classes)
        self.many_thr = int(many_thr)
        self.few_thr = int(few_thr)
        self.topk = tuple(sorted({1, *((topk,) if isinstance(topk, int) else tuple(topk))}))
        if min(self.topk) < 1:
            raise ValueError(f'LongTailAccuracy: topk values must be >= 1, got {topk}')
        self.save_dir = save_dir
        self.save_per_class = save_per_class
        self.plot = plot
        self.calibration = bool(calibration)
        if int(n_bins) != n_bins or n_bins < 1:
            raise ValueError(f'LongTailAccuracy: n_bins must be an integer >= 1 (val_evaluator.n_bins), got {n_bins}')
        self.n_bins = int(n_bins)
        self.class_counts: np.ndarray | None = None
        if class_counts is not None:
            self.set_class_counts(load_class_counts(class_counts))

    def set_class_counts(self, counts: np.ndarray) -> None:
        """Training images per class; decides the many / medium / few split of every class."""
        counts = check_class_counts(counts, self.num_classes, where='LongTailAccuracy class_counts',
                                    allow_empty=True)
        self.class_counts = counts
        if self.num_classes is None:
            self.num_classes = int(counts.size)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the score vector (or predicted label) and the true label of every sample."""
        for sample in data_samples:  # mmpretrain 1.x DataSample dicts, as its Accuracy reads them
            result = {}
            if 'pred_score' in sample:
                result['pred_score'] = _as_tensor(sample['pred_score']).float()
            else:
                result['pred_label'] = _as_tensor(sample['pred_label']).reshape(-1)
            result['gt_label'] = _as_tensor(sample['gt_label']).reshape(-1)
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Metrics from the (already gathered) per-sample results."""
        if self.class_counts is None:
            raise ClassCountsError(
                'LongTailAccuracy needs the per-class training counts: add ClassCountsHook to custom_hooks '
                '(it reads the train set) or give class_counts= (a list or a class-count file) in the evaluator config')
        num_classes = int(self.class_counts.size)
        targets = torch.cat([r['gt_label'] for r in results]).numpy().astype(np.int64)
        metrics: dict[str, float] = {}
        scores = None
        if 'pred_score' in results[0]:
            scores = torch.stack([r['pred_score'] for r in results]).numpy()
            if scores.shape[1] != num_classes:
                raise ValueError(f'LongTailAccuracy: the model outputs {scores.shape[1]} scores per sample but the '
                                 f'class counts have {num_classes} classes (num_classes / class_counts)')
            pred = scores.argmax(axis=1)
            for k in self.topk:
                if k > 1:
                    metrics[f'top{k}'] = 100.0 * float(shot_metrics.topk_correct(scores, targets, k).mean())
        else:
            pred = torch.cat([r['pred_label'] for r in results]).numpy()
            if len(self.topk) > 1:
                raise ValueError('LongTailAccuracy: top-k > 1 needs pred_score, the model only gave labels')
        try:
            correct, total = shot_metrics.per_class_correct(pred, targets, num_classes)
        except ValueError as e:
            raise ValueError(f'LongTailAccuracy: {e} (num_classes / class_counts)') from e
        class_acc = shot_metrics.per_class_accuracy(correct, total)
        shots = shot_metrics.shot_accuracies(class_acc, self.class_counts, self.many_thr, self.few_thr)
        empty = shot_metrics.empty_splits(class_acc, self.class_counts, self.many_thr, self.few_thr)
        metrics['top1'] = 100.0 * float((pred == targets).mean())
        metrics.update({name: 100.0 * value for name, value in shots.items() if name not in empty})
        metrics['mean_class'] = 100.0 * float(np.nanmean(class_acc))
        ordered = {'top1': metrics.pop('top1')}
        ordered.update(metrics)
        calib = None
        if self.calibration and scores is not None:
            calib = self._calibration(scores, pred, targets, empty)
            if calib is not None:
                ordered.update(calib['metrics'])
        if self.save_per_class:
            self._save(correct, total, class_acc, ordered, empty, calib)
        return ordered

    def _calibration(self, scores: np.ndarray, pred: np.ndarray, targets: np.ndarray, empty: list[str]) -> dict | None:
        """ECE overall / per split, classwise ECE (percent) and the reliability bins, or None for non-probabilities."""
        if not np.all(np.isfinite(scores)) or scores.min() < 0 or scores.max() > 1:
            print_log('LongTailAccuracy: pred_score is not a probability vector (values outside [0, 1]), so no ECE is '
                      'reported; set calibration=False to silence this', logger='current', level=logging.WARNING)
            return None
        ece = calibration_metrics.expected_calibration_error
        out = {'ece': 100.0 * ece(scores, targets, self.n_bins)}
        split_of_sample = shot_metrics.shot_split(self.class_counts, self.many_thr, self.few_thr)[targets]
        for i, name in enumerate(shot_metrics.SPLIT_NAMES):
            if name not in empty:
                rows = split_of_sample == i
                out[f'ece_{name}'] = 100.0 * ece(scores[rows], targets[rows], self.n_bins)
        out['classwise_ece'] = 100.0 * calibration_metrics.classwise_ece(scores, targets, self.n_bins)
        conf = scores[np.arange(targets.size), pred]
        bins = calibration_metrics.reliability_bins(conf, pred == targets, self.n_bins)
        return dict(metrics=out, bins=bins)

    # ---- per-class outputs ---------------------------------------------------------------------------------
    def _tag(self) -> str:
        hub = MessageHub.get_current_instance()
        stage = hub.get_info('loop_stage')
        if stage == 'val':
            max_epochs = hub.get_info('max_epochs') or 0
            if max_epochs > 1:  # epoch-based training (mmengine's IterBasedTrainLoop reports max_epochs = 1)
                return f'val_epoch_{int(hub.get_info("epoch", 0)) + 1}'
            if hub.get_info('iter') is not None:
                return f'val_iter_{int(hub.get_info("iter")) + 1}'
            return 'val'
        return 'test' if stage == 'test' else 'eval'

    def _save(self, correct: np.ndarray, total: np.ndarray, class_acc: np.ndarray, summary: dict,
              empty: list[str] = (), calib: dict | None = None) -> None:
        out_dir = self.save_dir or runner_log_dir()
        if out_dir is None:
            return
        out_dir = osp.join(out_dir, 'per_class_acc')
        os.makedirs(out_dir, exist_ok=True)
        tag = self._tag()
        split = shot_metrics.shot_split(self.class_counts, self.many_thr, self.few_thr)
        names = list((self.dataset_meta or {}).get('classes') or [])
        if len(names) != class_acc.size:
            names = [str(i) for i in range(class_acc.size)]
        rows = [dict(class_id=i, name=str(names[i]), train_count=int(self.class_counts[i]),
                     split=shot_metrics.SPLIT_NAMES[split[i]], test_count=int(total[i]), correct=int(correct[i]),
                     accuracy=None if np.isnan(class_acc[i]) else float(class_acc[i]))
                for i in range(class_acc.size)]  # output formatting, once per evaluation
        with open(osp.join(out_dir, f'{tag}.csv'), 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({**r, 'accuracy': '' if r['accuracy'] is None else r['accuracy']} for r in rows)
        summary = {**summary, **{name: None for name in empty}}  # an empty split has no accuracy (not 0)
        data = dict(summary=summary, empty_splits=list(empty), many_thr=self.many_thr, few_thr=self.few_thr,
                    per_class=rows)
        if calib is not None:
            bins = calib['bins']
            data['calibration'] = dict(
                n_bins=self.n_bins, binning='equal-width confidence bins (b/n, (b+1)/n]; confidence = max score',
                per_split='ECE of the samples whose true class is in the split',
                bins=dict(edges=bins['edges'].tolist(), count=bins['count'].tolist(),
                          confidence=[None if np.isnan(v) else float(v) for v in bins['confidence']],
                          accuracy=[None if np.isnan(v) else float(v) for v in bins['accuracy']]))
        with open(osp.join(out_dir, f'{tag}.json'), 'w') as f:
            json.dump(data, f, indent=1)
        if self.plot:
            try:
                self._plot(class_acc, osp.join(out_dir, f'{tag}.png'), tag)
                if calib is not None:
                    self._plot_reliability(calib, osp.join(out_dir, f'{tag}_reliability.png'), tag)
            except ImportError as e:  # matplotlib is optional at run time
                print_log(f'LongTailAccuracy: no per-class plot ({e})', logger='current', level=logging.WARNING)

    def _plot(self, class_acc: np.ndarray, path: str, title: str) -> None:
        from matplotlib.figure import Figure  # object API with the Agg canvas: no pyplot, no global backend state

        counts = self.class_counts
        present = ~np.isnan(class_acc)
        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        ax.scatter(np.maximum(counts[present], 0.5), 100 * class_acc[present], s=8, alpha=0.6)
        lines = ((self.many_thr + 0.5, f'many > {self.many_thr}'), (self.few_thr - 0.5, f'few < {self.few_thr}'))
        for thr, label in lines:
            ax.axvline(thr, color='grey', linestyle='--', linewidth=1)
            ax.text(thr, 102, label, fontsize=7, ha='center')
        ax.set_xscale('log')
        ax.set_xlabel('training images of the class (log)')
        ax.set_ylabel('per-class top-1 accuracy (%)')
        ax.set_ylim(-2, 108)
        ax.set_title(f'per-class accuracy vs training frequency ({title})')
        fig.tight_layout()
        fig.savefig(path, dpi=100)

    def _plot_reliability(self, calib: dict, path: str, title: str) -> None:
        """Reliability diagram: accuracy per confidence bin against the diagonal, with the bin counts below."""
        from matplotlib.figure import Figure

        bins = calib['bins']
        edges = bins['edges']
        width = edges[1] - edges[0]
        filled = bins['count'] > 0
        fig = Figure(figsize=(5, 6))
        ax, ax_n = fig.subplots(2, 1, sharex=True, gridspec_kw=dict(height_ratios=(3, 1)))
        ax.bar(edges[:-1][filled], bins['accuracy'][filled], width=width, align='edge', edgecolor='black',
               label='accuracy')
        ax.bar(edges[:-1][filled], (bins['confidence'] - bins['accuracy'])[filled],
               bottom=bins['accuracy'][filled], width=width, align='edge', color='red', alpha=0.3, label='gap')
        ax.plot([0, 1], [0, 1], color='grey', linestyle='--', linewidth=1)
        ax.set_ylabel('accuracy')
        ax.set_ylim(0, 1)
        ax.legend(loc='upper left', fontsize=8)
        ece = calib['metrics']['ece']
        ax.set_title(f'reliability ({title}): ECE {ece:.2f} % ({self.n_bins} bins)')
        ax_n.bar(edges[:-1], bins['count'], width=width, align='edge', edgecolor='black')
        ax_n.set_xlabel('confidence (max score)')
        ax_n.set_ylabel('samples')
        ax_n.set_xlim(0, 1)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
