"""The vMF classifier of "vMF-OP" (Wang et al., ECCV 2022): logits, overlap coefficient, ICD / CFC losses, calibration.

Pure torch (no OpenMMLab import); the mmpretrain head, the mmseg / mmdet adapters, the calibration hook and the tools
all build on :class:`VMFClassifier`. docs/methods.md §1 is the specification; the comments
name the official functions each
piece reproduces (``SiLangWHL/vMF-OP`` @ 964d491, ``classification/``).

Conventions that matter for equivalence (docs/methods.md §1.10):
* logits use kappa clamped at 1, while b and every overlap quantity use the raw, unclamped ``kappa`` parameter;
* training logits add log n_c (balanced-softmax style), test logits never do;
* ICD averages the off-diagonal overlaps over all C^2 entries; the calibration vector ``op`` includes the diagonal
  O_ii = 1;
* calibration (alpha < 1) rescales kappa only; b stays the buffer stored at the last training forward.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bessel import vmf_log_norm, vmf_mean_resultant
from .overlap_fast import IcdFunction, default_block_tile, icd_blocks, sampled_icd_loss_and_op
from .overlap_fast import kl_rows as _kl_rows

__all__ = ['aux_loss_weight', 'overlap_matrix', 'icd_loss', 'overlap_row_mean', 'icd_loss_and_op', 'cfc_loss',
           'calibrated_kappa', 'VMFClassifier', 'parse_aux_losses', 'OP_SOURCES', 'OP_FALLBACKS', 'AUX_LOSS_CHOICES',
           'KAPPA_MIN']

# What the ``op`` buffer holds (the ``op_source`` buffer stores the index).
OP_SOURCES = ('unset', 'bias', 'icd', 'final_overlap')
OP_FALLBACKS = ('bias', 'overlap')
AUX_LOSS_CHOICES = ('none', 'icd', 'cfc', 'icd+cfc')
KAPPA_MIN = 1.0  # the logits use max(kappa, 1), as the official classifier (docs/methods.md §1.10)


def aux_loss_weight(epoch: int, max_epochs: int, base: float = 0.2, power: float = 0.9) -> float:
    """lambda_e = base (1 - e/E)^power for the 0-based epoch e of E (official ``batch_loss``; constant in an epoch).

    Epochs at or past E give 0.
    """
    if isinstance(max_epochs, bool) or int(max_epochs) != max_epochs or max_epochs < 1:
        raise ValueError(f'aux_loss_weight: max_epochs must be a positive integer, got {max_epochs!r}')
    if isinstance(epoch, bool) or int(epoch) != epoch or epoch < 0:
        raise ValueError(f'aux_loss_weight: epoch must be an integer >= 0 (0-based), got {epoch!r}')
    frac = max(0.0, 1.0 - float(epoch) / float(max_epochs))
    return float(base) * frac ** float(power)


def _check_weight_kappa(weight: torch.Tensor, kappa: torch.Tensor, d: int | None) -> int:
    if weight.dim() != 2:
        raise ValueError(f'vMF weight must be (C, d), got shape {tuple(weight.shape)}')
    if kappa.shape != (weight.shape[0],):
        raise ValueError(f'vMF kappa must have shape ({weight.shape[0]},) to match weight {tuple(weight.shape)}, '
                         f'got {tuple(kappa.shape)}')
    return int(weight.shape[1]) if d is None else int(d)


def overlap_matrix(weight: torch.Tensor, kappa: torch.Tensor, d: int | None = None) -> torch.Tensor:
    """O_ij = 1 / (1 + KL_ij) for all class pairs at once, (C, C); asymmetric, O_ii = 1 (official ``get_overlap``).

    ``weight`` (C, d) are the raw class weights (normalised here), ``kappa`` (C,) the raw, unclamped concentrations;
    ``d`` defaults to weight.shape[1]. Differentiable in both.
    """
    d = _check_weight_kappa(weight, kappa, d)
    mu = F.normalize(weight, p=2, dim=1)
    a = vmf_mean_resultant(kappa, d)
    b = vmf_log_norm(kappa, d)
    return 1.0 / (1.0 + _kl_rows(mu, mu, a, kappa, kappa, b, b))


def icd_loss(overlap: torch.Tensor) -> torch.Tensor:
    """Inter-class discrepancy: sum_{i != j} O_ij / C^2 (diagonal masked, but counted in the denominator)."""
    if overlap.dim() != 2 or overlap.shape[0] != overlap.shape[1]:
        raise ValueError(f'icd_loss expects a square (C, C) overlap matrix, got {tuple(overlap.shape)}')
    c = overlap.shape[0]
    return (overlap.sum() - overlap.diagonal().sum()) / float(c * c)


def overlap_row_mean(overlap: torch.Tensor) -> torch.Tensor:
    """op_i = (1/C) sum_j O_ij, diagonal included: the vector the official code stores for calibration."""
    return overlap.mean(dim=1)


def icd_loss_and_op(weight: torch.Tensor, kappa: torch.Tensor, d: int | None = None,
                    chunk_rows: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """ICD loss (differentiable) and the op vector (detached) without materialising any C x C tensor.

    Equal to ``icd_loss(overlap_matrix(...))`` and ``overlap_row_mean(...)`` (gradients too). The symmetric blocked
    kernel of :mod:`ltplug.core.overlap_fast` computes mu mu^T once per pair of ``chunk_rows``-row blocks (default
    512 on the CPU, 4096 on an accelerator) and, when gradients are needed, the whole gradient in the same pass
    (one more C x C x d product, no recomputation): forward ~0.55, forward + backward ~1.55 products plus elementwise
    work (docs/benchmarks.md §2); extra memory two block x C panels, a few tiles and one C x d.
    """
    d = _check_weight_kappa(weight, kappa, d)
    if chunk_rows is not None and (isinstance(chunk_rows, bool) or int(chunk_rows) != chunk_rows or chunk_rows < 1):
        raise ValueError(f'icd_loss_and_op: chunk_rows must be a positive integer, got {chunk_rows!r}')
    block, tile = default_block_tile(weight.device)
    if chunk_rows is not None:
        block = int(chunk_rows)
    # at least float32, never autocast: the O(C^2) sums and the overlaps' 1 / (1 + KL) need it (half inputs are cast)
    dt = torch.promote_types(torch.promote_types(weight.dtype, kappa.dtype), torch.float32)
    with torch.autocast(device_type=weight.device.type, enabled=False):
        w = weight.to(dt)
        a = vmf_mean_resultant(kappa, d).to(dt)
        b = vmf_log_norm(kappa, d).to(dt)
        k = kappa.to(dt)
        if torch.is_grad_enabled() and (weight.requires_grad or kappa.requires_grad):
            loss, op = IcdFunction.apply(w, a, k, b, block, tile)
            return loss, op.detach()
        loss, op, _ = icd_blocks(F.normalize(w, p=2, dim=1), a, k, b, block, tile=tile)
        return loss, op


def cfc_loss(feats: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, kappa: torch.Tensor,
             ignore_index: int | None = None) -> torch.Tensor:
    """Class-feature consistency loss (official ``get_all_overlap``, 'cfc' branch).

    For each class c present in the batch: m_c = normalise(sum of the normalised features of class c),
    KL_c = A_d(k_c) k_c (1 - mu_c . m_c) (same-kappa vMF KL), loss = mean over present classes of 1 - 1/(1 + KL_c).
    ``feats`` (N, d) backbone features, ``labels`` (N,) in [0, C) (``ignore_index`` entries are dropped),
    ``kappa`` the raw concentrations. Gradients reach features, weights and kappa. No labelled sample: returns 0.
    """
    d = _check_weight_kappa(weight, kappa, None)
    c = weight.shape[0]
    if feats.dim() != 2 or feats.shape[1] != d:
        raise ValueError(f'cfc_loss: feats must be (N, {d}), got {tuple(feats.shape)}')
    labels = labels.reshape(-1).long()
    if labels.numel() != feats.shape[0]:
        raise ValueError(f'cfc_loss: {labels.numel()} labels for {feats.shape[0]} features')
    if ignore_index is not None:
        keep = labels != ignore_index
        feats, labels = feats[keep], labels[keep]
    if labels.numel() and (labels.min() < 0 or labels.max() >= c):
        raise ValueError(f'cfc_loss: labels must lie in [0, {c}), got range [{int(labels.min())}, {int(labels.max())}]')
    if labels.numel() == 0:
        return weight.sum() * 0.0 + kappa.sum() * 0.0
    x = F.normalize(feats, p=2, dim=1)
    sums = x.new_zeros(c, d).index_add(0, labels, x)
    present = torch.bincount(labels, minlength=c) > 0
    m = F.normalize(sums[present], p=2, dim=1)
    mu = F.normalize(weight[present], p=2, dim=1)
    k = kappa[present]
    kl = vmf_mean_resultant(k, d) * k * (1.0 - (mu * m).sum(dim=1))
    return (1.0 - 1.0 / (1.0 + kl)).mean()


def calibrated_kappa(kappa: torch.Tensor, op: torch.Tensor, alpha: float) -> torch.Tensor:
    """Post-training calibration (official ``post_process``): kappa' = kappa^alpha * op'^(1 - alpha),

    where op' = min-max rescale of ``op`` into [min kappa, max kappa]. ``kappa`` is the effective (clamped at 1)
    concentration, as in the official code. alpha = 1 returns kappa unchanged (calibration off); alpha in [0, 1].
    """
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0 or math.isnan(alpha):
        raise ValueError(f'calibration alpha must be in [0, 1] (1 = off), got {alpha}')
    if kappa.shape != op.shape or kappa.dim() != 1:
        raise ValueError(f'calibrated_kappa: kappa {tuple(kappa.shape)} and op {tuple(op.shape)} must be equal 1-D '
                         'shapes')
    if alpha == 1.0:
        return kappa.clone()
    if not bool(torch.isfinite(op).all()) or not bool(torch.isfinite(kappa).all()):
        raise ValueError('calibrated_kappa: op / kappa contain NaN or inf')
    if bool((kappa <= 0).any()):
        raise ValueError('calibrated_kappa: kappa must be > 0 (pass the clamped concentration)')
    op_min, op_max = op.min(), op.max()
    if not bool(op_max > op_min):
        raise ValueError('calibrated_kappa: the op statistics are constant across classes, so the min-max rescale is '
                         'undefined (was the classifier ever trained? an untrained checkpoint has op = 0)')
    k_min, k_max = kappa.min(), kappa.max()
    op_scaled = (op - op_min) / (op_max - op_min) * (k_max - k_min) + k_min
    return kappa ** alpha * op_scaled ** (1.0 - alpha)


class VMFClassifier(nn.Module):
    """Per-class vMF classifier (official ``Multi_kappa_vMF_Classifier`` + the wiring of ``batch_forward``).

    Parameters: ``weight`` (C, d), U(-1/sqrt d, 1/sqrt d); ``kappa`` (C,), ``kappa_init`` for every class (no weight
    decay: configs exclude it through paramwise_cfg custom_keys ``kappa``). Persistent buffers (all in checkpoints):
    ``class_counts`` / ``log_prior`` (n_c, log n_c), ``bias`` (b at the last training forward, used at test),
    ``op`` + ``op_source`` (calibration statistics and where they came from, see OP_SOURCES), ``calib_alpha`` +
    ``kappa_calibrated`` (the precomputed calibrated concentration; alpha = 1 means off).

    ``aux_loss`` ('none', 'icd', 'cfc' or 'icd+cfc') selects the auxiliary losses that :meth:`aux_losses` returns.
    ``op_fallback`` decides what ``op`` is when the ICD loss is not used (docs/methods.md §1.10.9): ``'bias'``
    (default, the official ``vmf.yaml`` behaviour: op = b(kappa) of the last training step, so calibration ranks
    classes by b, which decreases in kappa) or ``'overlap'`` (op = the overlap row mean of the final weights and kappa,
    computed once by :meth:`calibrate`: the same statistic ICD runs store, minus the one-step lag). With ICD on, op is
    always the ICD row mean of the last training mini-batch, as in the official code.

    The arguments are not validated here: the heads (``ltplug.vmf_adapter.build_vmf_classifier``) check them once,
    naming the config key, and the class-count hooks check the counts.
    """

    def __init__(self, in_features: int, num_classes: int, kappa_init: float = 16.0, use_prior: bool = True,
                 op_fallback: str = 'bias', aux_loss: str | Sequence[str] | None = 'none', icd_sample: int = 0) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.num_classes = int(num_classes)
        self.icd_sample = int(icd_sample)  # > 0: sampled ICD with this many uniform rows (+ the batch's classes)
        self.use_prior = bool(use_prior)
        self.requires_class_counts = self.use_prior  # read by ClassCountsHook
        self.op_fallback = op_fallback
        self.use_icd, self.use_cfc = parse_aux_losses(aux_loss)
        self.weight = nn.Parameter(torch.empty(self.num_classes, self.in_features))
        self.kappa = nn.Parameter(torch.full((self.num_classes,), float(kappa_init)))
        self.register_buffer('class_counts', torch.zeros(self.num_classes, dtype=torch.long))
        self.register_buffer('log_prior', torch.zeros(self.num_classes))
        self.register_buffer('bias', vmf_log_norm(self.kappa.detach(), self.in_features).float())
        self.register_buffer('op', torch.zeros(self.num_classes))
        self.register_buffer('op_source', torch.zeros((), dtype=torch.long))
        self.register_buffer('calib_alpha', torch.ones(()))
        self.register_buffer('kappa_calibrated', self.kappa.detach().clamp(min=KAPPA_MIN).clone())
        self._has_prior = False
        self._calibrated = False
        self._icd_seen = False
        self._warned_train_calibrated = False
        self._last_features: torch.Tensor | None = None  # the input of the last training forward, kept for CFC
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt d, 1/sqrt d) weight init, as the official ``reset_parameters``."""
        bound = 1.0 / math.sqrt(self.in_features)
        nn.init.uniform_(self.weight, -bound, bound)

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        """Load as usual, then re-derive the Python-side flags from the loaded buffers (prior present, calibration
        active, ICD statistics). Overridden here rather than a post-hook so mmengine's own loader triggers it too."""
        super()._load_from_state_dict(*args, **kwargs)
        self._sync_flags()

    def _sync_flags(self) -> None:
        self._has_prior = bool((self.class_counts > 0).all())
        self._calibrated = float(self.calib_alpha) != 1.0
        self._icd_seen = int(self.op_source) == OP_SOURCES.index('icd')

    def extra_repr(self) -> str:
        aux = '+'.join(n for n, on in (('icd', self.use_icd), ('cfc', self.use_cfc)) if on) or 'none'
        return (f'in_features={self.in_features}, num_classes={self.num_classes}, use_prior={self.use_prior}, '
                f'op_fallback={self.op_fallback!r}, aux_loss={aux!r}')

    # ----------------------------------------------------------------------------------------------- class counts
    def set_class_counts(self, counts) -> None:
        """Set n_c and the training log prior log n_c (``counts``: num_classes positive integers, checked by the
        caller: ``ltplug.core.counts.check_class_counts``)."""
        t = torch.as_tensor(counts, dtype=torch.long, device=self.class_counts.device)
        self.class_counts.copy_(t)
        self.log_prior.copy_(torch.log(t.to(torch.float64)).to(self.log_prior.dtype))
        self._has_prior = True

    @property
    def effective_kappa(self) -> torch.Tensor:
        """The concentration used in the logits: max(kappa, 1) (hard clamp, zero gradient below 1)."""
        return torch.clamp(self.kappa, min=KAPPA_MIN)

    @property
    def calibrated(self) -> bool:
        return self._calibrated

    @property
    def last_features(self) -> torch.Tensor | None:
        """The input of the last training forward while CFC is on (cleared by :meth:`aux_losses`), else None."""
        return self._last_features

    # ----------------------------------------------------------------------------------------------- logits
    def cosine(self, x: torch.Tensor) -> torch.Tensor:
        """cos(x, mu_c) for features in the last dim: (..., d) -> (..., C)."""
        if x.shape[-1] != self.in_features:
            raise ValueError(f'{type(self).__name__}: expected features with {self.in_features} channels in the last '
                             f'dim, got shape {tuple(x.shape)} (check in_channels / in_features in the config)')
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f'{type(self).__name__}: the input features contain NaN or inf (diverged backbone? '
                             'lower the learning rate or check the data)')
        return F.linear(F.normalize(x, p=2, dim=-1), F.normalize(self.weight, p=2, dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., d) features -> (..., C) logits.

        training: max(kappa, 1) cos + b(raw kappa) + log n_c (log n_c only if use_prior); b is stored in ``bias``;
        with CFC on, ``x`` is kept for :meth:`aux_losses`.
        eval: kappa' cos + stored ``bias``, no prior (kappa' = max(kappa, 1) unless calibrated).
        """
        cos = self.cosine(x)
        if not self.training:
            kappa = self.kappa_calibrated if self._calibrated else self.effective_kappa
            return cos * kappa + self.bias
        if self.use_prior and not self._has_prior:
            raise ValueError(
                f'{type(self).__name__} (use_prior=True) has no class counts: the training logits need log n_c. Add '
                "ClassCountsHook to custom_hooks, pass class_counts= (a list or class-count file) to the head, or set "
                'use_prior=False')
        if self._calibrated:
            if not self._warned_train_calibrated:
                warnings.warn(f'{type(self).__name__}: training a calibrated classifier; the calibration '
                              f'(alpha={float(self.calib_alpha)}) is dropped', stacklevel=2)
                self._warned_train_calibrated = True
            self.calibrate(1.0)
        if self.use_cfc:
            self._last_features = x
        b = vmf_log_norm(self.kappa, self.in_features)
        with torch.no_grad():
            self.bias.copy_(b.detach())
            if self.op_fallback == 'bias' and not self._icd_seen:
                self.op.copy_(b.detach())
                self.op_source.fill_(OP_SOURCES.index('bias'))
        logits = cos * self.effective_kappa + b
        if self.use_prior:
            logits = logits + self.log_prior
        return logits

    # ----------------------------------------------------------------------------------------------- overlaps / losses
    def overlap_matrix(self) -> torch.Tensor:
        """O (C, C) from the current weights and raw kappa (differentiable)."""
        return overlap_matrix(self.weight, self.kappa, self.in_features)

    def icd_loss(self, labels: torch.Tensor | None = None) -> torch.Tensor:
        """ICD loss on the current weights / raw kappa; in training it also refreshes ``op`` (row means, no grad).

        Call it after :meth:`forward` in a training step (:meth:`aux_losses` does); the official code stores op from
        the same step. Outside training it only computes the loss. With ``icd_sample`` > 0 the loss is the unbiased
        sampled ICD (rows: the classes in ``labels`` + ``icd_sample`` uniform ones) and op a running estimate: the
        sampled rows are refreshed, the others keep their last value (the first step fills all of op with a full
        no-grad pass).
        """
        if self.icd_sample:
            loss, rows, op_rows = sampled_icd_loss_and_op(self.weight, self.kappa, self.icd_sample, labels,
                                                          self.in_features)
            if self.training:
                with torch.no_grad():
                    if not self._icd_seen:
                        self.op.copy_(icd_loss_and_op(self.weight, self.kappa, self.in_features)[1].to(self.op.dtype))
                    self.op[rows] = op_rows.to(self.op.dtype)
                    self.op_source.fill_(OP_SOURCES.index('icd'))
                self._icd_seen = True
            return loss
        loss, op = icd_loss_and_op(self.weight, self.kappa, self.in_features)
        if self.training:
            with torch.no_grad():
                self.op.copy_(op.to(self.op.dtype))
                self.op_source.fill_(OP_SOURCES.index('icd'))
            self._icd_seen = True
        return loss

    def cfc_loss(self, feats: torch.Tensor, labels: torch.Tensor, ignore_index: int | None = None) -> torch.Tensor:
        """CFC loss for features (..., d) and labels of the same leading shape (both flattened)."""
        return cfc_loss(feats.reshape(-1, self.in_features), labels.reshape(-1), self.weight, self.kappa,
                        ignore_index=ignore_index)

    def aux_losses(self, feats: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                   ignore_index: int | None = None, weight: float = 1.0) -> dict[str, torch.Tensor]:
        """The auxiliary losses and logs of one training step, the one call every head makes after :meth:`forward`.

        Returns ``loss_icd`` = weight * ICD and / or ``loss_cfc`` = weight * CFC (as selected by ``aux_loss``) plus the
        log ``aux_weight`` when either is on, and always the log ``kappa_mean``. CFC uses ``feats`` (..., d), by default
        the input of the last training forward, and ``labels`` of the same leading shape (``ignore_index`` entries
        dropped, e.g. ignored pixels or background RoIs).
        """
        out: dict[str, torch.Tensor] = {}
        if self.use_icd:
            icd_labels = None
            if self.icd_sample and labels is not None:  # the batch's classes are always among the sampled rows
                icd_labels = labels.reshape(-1)
                icd_labels = icd_labels[(icd_labels >= 0) & (icd_labels < self.num_classes)]
            out['loss_icd'] = weight * self.icd_loss(icd_labels)
        if self.use_cfc:
            feats = self._last_features if feats is None else feats
            self._last_features = None
            if feats is None or labels is None:
                raise ValueError(f'{type(self).__name__}.aux_losses: the CFC loss needs the labels and the features '
                                 'of this training step (call forward in training mode first)')
            out['loss_cfc'] = weight * self.cfc_loss(feats, labels, ignore_index)
        if out:
            out['aux_weight'] = self.weight.new_tensor(float(weight)).detach()
        out['kappa_mean'] = self.kappa.detach().mean()
        return out

    # ----------------------------------------------------------------------------------------------- calibration
    @torch.no_grad()
    def final_overlap_op(self) -> torch.Tensor:
        """Overlap row means of the current (final) weights and kappa: the 'overlap' op fallback."""
        return icd_loss_and_op(self.weight, self.kappa, self.in_features)[1].to(self.op.dtype)

    @torch.no_grad()
    def calibration_op(self) -> torch.Tensor:
        """The op vector calibration uses: ICD statistics if training stored them, else the configured fallback."""
        if int(self.op_source) == OP_SOURCES.index('icd'):
            return self.op.clone()
        if self.op_fallback == 'overlap':
            return self.final_overlap_op()
        if int(self.op_source) == OP_SOURCES.index('unset'):
            raise ValueError(f'{type(self).__name__}: no calibration statistics (op) were stored; the classifier was '
                             'never trained (or the checkpoint predates them). Use alpha=1 or op_fallback="overlap"')
        return self.bias.clone()

    @torch.no_grad()
    def calibrate(self, alpha: float) -> None:
        """Precompute kappa' = calibrated_kappa(max(kappa, 1), op, alpha) for inference (zero test-time cost).

        alpha = 1.0 switches calibration off. b is never recomputed from kappa' (official behaviour). With the 'overlap'
        fallback, ``op`` is replaced by the final-weight overlap row means (``op_source`` = 'final_overlap').
        """
        alpha = float(alpha)
        kappa = self.effective_kappa.detach()
        if alpha == 1.0:
            self.kappa_calibrated.copy_(kappa)
            self.calib_alpha.fill_(1.0)
            self._calibrated = False
            return
        op = self.calibration_op()
        new_kappa = calibrated_kappa(kappa.double(), op.double(), alpha)
        if int(self.op_source) != OP_SOURCES.index('icd') and self.op_fallback == 'overlap':
            self.op.copy_(op)
            self.op_source.fill_(OP_SOURCES.index('final_overlap'))
        self.kappa_calibrated.copy_(new_kappa.to(self.kappa_calibrated.dtype))
        self.calib_alpha.fill_(alpha)
        self._calibrated = True

    def calibration_state(self) -> dict[str, torch.Tensor]:
        """A copy of every buffer calibration may change (for :meth:`load_calibration_state`)."""
        return {k: getattr(self, k).detach().clone() for k in ('op', 'op_source', 'calib_alpha', 'kappa_calibrated')}

    @torch.no_grad()
    def load_calibration_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`calibration_state` saved (used by the calibration hook after val / test)."""
        for k, v in state.items():
            getattr(self, k).copy_(v)
        self._sync_flags()


def parse_aux_losses(aux: str | Sequence[str] | None) -> tuple[bool, bool]:
    """Parse an aux-loss selection ('none' / 'icd' / 'cfc' / 'icd+cfc' or a list) into (use_icd, use_cfc)."""
    if aux is None:
        return False, False
    if isinstance(aux, str):
        if aux not in AUX_LOSS_CHOICES:
            raise ValueError(f'aux_loss must be one of {AUX_LOSS_CHOICES}, got {aux!r}')
        parts = [] if aux == 'none' else aux.split('+')
    else:
        parts = list(aux)
        bad = [p for p in parts if p not in ('icd', 'cfc')]
        if bad:
            raise ValueError(f"aux_loss list entries must be 'icd' or 'cfc', got {bad}")
    return 'icd' in parts, 'cfc' in parts

