"""The one way the cls, seg and det heads plug in the vMF classifier of vMF-OP (docs/methods.md §1).

Every vMF head owns a :class:`~ltplug.core.vmf.VMFClassifier` built by :func:`build_vmf_classifier` from the same
arguments with the same defaults (:data:`VMF_HEAD_DEFAULTS`, checked here once with the config key named) and adds
:func:`vmf_aux_losses` to its stock loss, so the three heads log the same keys (``loss_icd``, ``loss_cfc``,
``aux_weight`` when an auxiliary loss is on, ``kappa_mean`` always) and follow the same weight schedule:

lambda = aux_loss_weight (1 - t/T)^aux_loss_power, with (t, T) from mmengine's MessageHub:

* ``'epoch'``: (epoch, max_epochs), constant within an epoch (the official, epoch-based rule);
* ``'iter'``: (iter, max_iters) (an ``IterBasedTrainLoop`` reports a single epoch, which would freeze lambda);
* ``'auto'`` (default): ``'epoch'`` when the run has more than one epoch, else ``'iter'``.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from types import MappingProxyType

import torch
from mmengine.logging import MessageHub

from ltplug.core.counts import check_class_counts
from ltplug.core.vmf import OP_FALLBACKS, VMFClassifier, aux_loss_weight, parse_aux_losses

AUX_SCHEDULES = ('auto', 'epoch', 'iter')

# The vMF arguments of every vMF head (cls, seg, det), with their defaults.
VMF_HEAD_DEFAULTS = MappingProxyType(dict(
    kappa_init=16.0,  # the official default and the appendix's setting on ADE20K / LVIS
    use_prior=True,  # + log n_c in the training logits (the official balanced posterior)
    class_counts=None,  # a list or class-count file; default: the class-count hook of the task
    aux_loss='none',  # 'none' (official vmf.yaml), 'icd' (vmf_icd.yaml), 'cfc' or 'icd+cfc'
    aux_loss_weight=0.2,  # lambda's base (official)
    aux_loss_power=0.9,  # lambda's power (official)
    aux_loss_schedule='auto',
    op_fallback='bias',  # the calibration statistic without ICD: 'bias' (official) or 'overlap'
    icd_sample=0,  # 0: the full ICD (official); m > 0: sampled ICD, batch classes + m uniform (docs/methods.md §1.5)
))


@dataclass(frozen=True)
class AuxLossSchedule:
    """lambda = weight (1 - t/T)^power with (t, T) read from mmengine's MessageHub (see the module docstring)."""

    weight: float
    power: float
    schedule: str
    where: str

    def current(self) -> float:
        """lambda at the current epoch / iteration of the running mmengine loop."""
        hub = MessageHub.get_current_instance()
        schedule = self.schedule
        if schedule == 'auto':
            max_epochs = hub.get_info('max_epochs')
            schedule = 'epoch' if max_epochs is not None and int(max_epochs) > 1 else 'iter'
        keys = ('iter', 'max_iters') if schedule == 'iter' else ('epoch', 'max_epochs')
        t, total = hub.get_info(keys[0]), hub.get_info(keys[1])
        if t is None or not total:
            raise ValueError(f"{self.where}: the auxiliary-loss weight {self.weight} (1 - t/T)^{self.power} needs "
                             f"'{keys[0]}' and '{keys[1]}' in mmengine's MessageHub runtime info. Train through "
                             "mmengine's Runner (RuntimeInfoHook sets them) or set them with MessageHub.update_info.")
        return aux_loss_weight(min(int(t), int(total)), int(total), self.weight, self.power)


def pop_vmf_args(kwargs: dict) -> dict:
    """Remove the vMF arguments from a head's ``kwargs`` (the rest goes to the stock head); defaults filled in."""
    return {key: kwargs.pop(key, default) for key, default in VMF_HEAD_DEFAULTS.items()}


def build_vmf_classifier(where: str, in_features: int, num_classes: int, *, kappa_init: float, use_prior: bool,
                         class_counts, aux_loss, aux_loss_weight: float, aux_loss_power: float,
                         aux_loss_schedule: str, op_fallback: str, icd_sample: int = 0,
                         classifier_type: type[VMFClassifier] = VMFClassifier, in_key: str = 'in_channels'
                         ) -> tuple[VMFClassifier, AuxLossSchedule]:
    """Check the vMF head arguments (errors name ``where``, the head's config key, e.g. 'model.head', and ``in_key``,
    the key that sets ``in_features``) and build the classifier and its auxiliary-loss schedule."""
    for key, value, least in (('num_classes', num_classes, 1), (in_key, in_features, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f'{where}.{key} must be an integer >= {least}, got {value!r}')
    if isinstance(kappa_init, bool) or not isinstance(kappa_init, (int, float)) or not (
            math.isfinite(kappa_init) and kappa_init > 0):
        raise ValueError(f'{where}.kappa_init must be a positive number, got {kappa_init!r}')
    try:
        parse_aux_losses(aux_loss)
    except ValueError as e:
        raise ValueError(f'{where}.aux_loss: {e}') from None
    if aux_loss_schedule not in AUX_SCHEDULES:
        raise ValueError(f'{where}.aux_loss_schedule must be one of {AUX_SCHEDULES}, got {aux_loss_schedule!r}')
    for key, value in (('aux_loss_weight', aux_loss_weight), ('aux_loss_power', aux_loss_power)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
            raise ValueError(f'{where}.{key} must be a number >= 0, got {value!r}')
    if op_fallback not in OP_FALLBACKS:
        raise ValueError(f'{where}.op_fallback must be one of {OP_FALLBACKS}, got {op_fallback!r}')
    if isinstance(icd_sample, bool) or not isinstance(icd_sample, int) or icd_sample < 0:
        raise ValueError(f'{where}.icd_sample must be an integer >= 0 (0 = the full ICD), got {icd_sample!r}')
    vmf = classifier_type(in_features, num_classes, kappa_init=kappa_init, use_prior=use_prior,
                          op_fallback=op_fallback, aux_loss=aux_loss, icd_sample=icd_sample)
    if class_counts is not None:
        vmf.set_class_counts(check_class_counts(class_counts, num_classes, where=f'{where}.class_counts'))
    return vmf, AuxLossSchedule(float(aux_loss_weight), float(aux_loss_power), aux_loss_schedule, where)


def vmf_aux_losses(vmf: VMFClassifier, schedule: AuxLossSchedule, feats: torch.Tensor | None = None,
                   labels: torch.Tensor | None = None, ignore_index: int | None = None) -> dict[str, torch.Tensor]:
    """``vmf.aux_losses`` at the current lambda (MessageHub is read only when an auxiliary loss is on)."""
    weight = schedule.current() if (vmf.use_icd or vmf.use_cfc) else 0.0
    return vmf.aux_losses(feats, labels, ignore_index=ignore_index, weight=weight)


def drop_init_override(init_cfg, name: str):
    """Remove the init_cfg entries / overrides that target the sub-module ``name`` (the vMF classifier keeps its own
    U(-1/sqrt d, 1/sqrt d) init instead of the Normal(0, 0.01) of the linear classifier it replaces)."""
    if init_cfg is None:
        return None
    entries = copy.deepcopy(init_cfg if isinstance(init_cfg, list) else [init_cfg])
    kept = []
    for entry in entries:
        override = entry.get('override') if isinstance(entry, dict) else None
        if override is None:
            kept.append(entry)
            continue
        overrides = [o for o in (override if isinstance(override, list) else [override]) if o.get('name') != name]
        if overrides:
            entry['override'] = overrides if isinstance(override, list) else overrides[0]
            kept.append(entry)
        elif entry.get('layer') is not None:  # the entry also initialises layers by type: keep that part
            kept.append({k: v for k, v in entry.items() if k != 'override'})
    if not kept:
        return None
    return kept if isinstance(init_cfg, list) or len(kept) > 1 else kept[0]
