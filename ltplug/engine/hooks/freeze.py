"""``FreezeModulesHook``: freeze parts of a model for a whole stage-2 run or for a warm-up, and re-initialise others.

Decoupled training (Kang et al., ICLR 2020; docs/methods.md §4.3) loads a stage-1 checkpoint, freezes the
representation (backbone + neck) and trains only the classifier: cRT re-initialises the linear classifier, LWS learns
per-class scales on top of the frozen one. Category extrapolation's official ``clswarm`` (docs/methods.md §5.3) freezes
the same modules for the first epochs only. One hook does both in any mmengine run (cls / seg / det).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch.nn as nn
from mmengine.dist import broadcast, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm
from torch.nn.parallel import DistributedDataParallel

# normalisation layers that keep running statistics (their behaviour depends on train/eval mode)
_STAT_NORMS = (_BatchNorm, _InstanceNorm)


def get_submodule(model: nn.Module, name: str, key: str = 'modules') -> nn.Module:
    """``model.<name>`` for a dotted name (``'backbone'``, ``'head.fc'``); the error names the hook's config key."""
    try:
        module = model.get_submodule(name)
    except AttributeError as e:
        children = [n for n, _ in model.named_children()]
        raise ValueError(f'FreezeModulesHook: {key} names {name!r}, which is not a sub-module of '
                         f'{type(model).__name__} (its children: {children})') from e
    return module


def stat_norm_layers(modules: Sequence[nn.Module]) -> list[nn.Module]:
    """The BatchNorm / InstanceNorm layers (the ones with running statistics) inside ``modules``."""
    seen: dict[int, nn.Module] = {}
    for module in modules:
        for m in module.modules():
            if isinstance(m, _STAT_NORMS):
                seen.setdefault(id(m), m)
    return list(seen.values())


def reset_parameters(module: nn.Module) -> int:
    """Re-initialise ``module`` and its children with their PyTorch default init (``reset_parameters``), in place.

    In place matters: the optimizer already holds these parameter tensors. Under distributed training rank 0's new
    values are broadcast, so every rank starts from the same classifier (the ranks' random streams may differ).
    Returns the number of layers reset.
    """
    n = 0
    for m in module.modules():
        if hasattr(m, 'reset_parameters') and callable(m.reset_parameters):
            m.reset_parameters()
            n += 1
    if is_distributed():
        for t in list(module.parameters()) + list(module.buffers()):
            broadcast(t.data, src=0)
    return n


@HOOKS.register_module()
class FreezeModulesHook(Hook):
    """Freeze ``modules`` (no gradients, never updated), for the whole run or its first ``epochs`` epochs, and
    re-initialise ``reinit`` at the start of a fresh run.

    Args:
        modules: dotted names of the sub-modules to freeze (default the representation: ``backbone`` and ``neck``).
            Their parameters get ``requires_grad = False``, so they receive no gradient and no optimizer (SGD, Adam,
            weight decay, momentum) touches them, whether the optimizer was built over all parameters or only over the
            trainable ones.
        epochs: None (default): frozen for the whole run (decoupled stage 2). An integer E: a warm-up, frozen during
            epochs 0 .. E-1 only, after which every frozen parameter gets its own ``requires_grad`` back (the official
            ``clswarm`` = 3 of category extrapolation; needs an epoch-based train loop).
        norm_eval: the ONE switch for the frozen modules' BatchNorm layers while they are frozen.
            ``False`` (default, the official behaviour): they follow the model's mode, so during training they
            normalise with batch statistics and **update their running statistics** on the (class-balanced) stage-2
            data, exactly like ``classifier-balancing``, which puts every network in ``train()`` during cRT/LWS.
            ``True``: they are kept in eval mode during training (running statistics used and left unchanged), the
            usual ``norm_eval`` of OpenMMLab backbones. Their affine parameters are frozen either way.
        reinit: dotted names of sub-modules to re-initialise with PyTorch's default init after the checkpoint
            (``load_from``) has been loaded, e.g. ``['head.fc']`` for cRT (the official ``load_model`` skips the
            classifier weights). Done only when training starts from iteration 0, so ``--resume`` keeps the trained
            classifier.
        require_load_from: with whole-run freezing, refuse to train when neither ``load_from`` nor ``resume`` is set
            (a frozen random backbone is almost certainly a config mistake). A warm-up does not check it: its modules
            train afterwards, and may be initialised by their own ``init_cfg``.

    Under distributed training the frozen parameters never receive gradients, so the DDP wrapper needs
    ``find_unused_parameters = True`` in the config (the hook checks it and fails early otherwise).
    """

    priority = 'HIGH'

    def __init__(self, modules: Sequence[str] = ('backbone', 'neck'), epochs: int | None = None,
                 norm_eval: bool = False, reinit: Sequence[str] = (), require_load_from: bool = True) -> None:
        if isinstance(modules, str) or isinstance(reinit, str):
            raise ValueError('FreezeModulesHook: modules / reinit must be lists of module names, not a string')
        overlap = set(modules) & set(reinit)
        if overlap:
            raise ValueError(f'FreezeModulesHook: {sorted(overlap)} is both frozen (modules) and re-initialised '
                             '(reinit)')
        if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
            raise ValueError(f'FreezeModulesHook: epochs must be None (the whole run) or an integer >= 1, got '
                             f'{epochs!r}')
        self.modules = tuple(modules)
        self.epochs = epochs
        self.norm_eval = bool(norm_eval)
        self.reinit = tuple(reinit)
        self.require_load_from = bool(require_load_from)
        self._norms: list[nn.Module] = []
        self._released: list[tuple[nn.Parameter, bool]] = []  # (parameter, its flag) to give back after a warm-up

    @staticmethod
    def _model(runner) -> nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _check_ddp(self, runner) -> None:
        if isinstance(runner.model, DistributedDataParallel) and not runner.model.find_unused_parameters:
            raise ValueError('FreezeModulesHook: the frozen parameters get no gradient, which DistributedDataParallel '
                             'rejects unless the config sets find_unused_parameters = True (or model_wrapper_cfg = '
                             'dict(type=\'MMDistributedDataParallel\', find_unused_parameters=True))')

    def _check_optimizer(self, runner, model: nn.Module, will_train: set[int]) -> None:
        wrapper = runner.optim_wrapper
        wrappers = list(wrapper.values()) if isinstance(wrapper, OptimWrapperDict) else [wrapper]
        in_optim = {id(p) for w in wrappers for g in w.optimizer.param_groups for p in g['params']}
        if not any(p.requires_grad for p in model.parameters()):
            raise ValueError(f'FreezeModulesHook: after freezing {list(self.modules)} the model has no trainable '
                             'parameter left')
        missing = [n for n, p in model.named_parameters() if id(p) in will_train and id(p) not in in_optim]
        if missing:
            runner.logger.warning(f'FreezeModulesHook: trainable parameters not in any optimizer (never updated): '
                                  f'{missing[:10]}')

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if self.epochs is None and self.require_load_from and not getattr(runner, '_load_from', None) \
                and not getattr(runner, '_resume', False):
            raise ValueError('FreezeModulesHook: this stage-2 config freezes '
                             f'{list(self.modules)} but sets no load_from (the stage-1 checkpoint); set load_from=... '
                             'in the config (or require_load_from=False in the hook if that is intended)')
        if self.epochs is not None and not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise ValueError(f'FreezeModulesHook: epochs={self.epochs} (a warm-up) needs an epoch-based train loop '
                             f'(train_cfg.by_epoch=True), got {type(runner.train_loop).__name__}')
        frozen = [get_submodule(model, n, 'modules') for n in self.modules]
        params = {id(p): p for m in frozen for p in m.parameters()}
        self._released = [(p, p.requires_grad) for p in params.values()] if self.epochs is not None else []
        for m in frozen:
            m.requires_grad_(False)
        self._norms = stat_norm_layers(frozen) if self.norm_eval else []
        self._check_ddp(runner)
        will_train = {id(p) for p in model.parameters() if p.requires_grad}
        will_train |= {id(p) for p, flag in self._released if flag}
        self._check_optimizer(runner, model, will_train)
        n_frozen = sum(p.numel() for p in params.values())
        n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
        until = 'the whole run' if self.epochs is None else f'epochs 0..{self.epochs - 1}'
        runner.logger.info(f'FreezeModulesHook: froze {list(self.modules)} for {until} ({n_frozen} parameters; '
                           f'BatchNorm in {"eval" if self.norm_eval else "train"} mode), {n_train} trainable '
                           'parameters')
        if self.reinit:
            if runner.iter != 0:
                runner.logger.info(f'FreezeModulesHook: resumed at iteration {runner.iter}; {list(self.reinit)} keep '
                                   'their trained weights (no re-initialisation)')
            else:
                for name in self.reinit:
                    n = reset_parameters(get_submodule(model, name, 'reinit'))
                    if n == 0:
                        raise ValueError(f'FreezeModulesHook: reinit names {name!r}, which has no layer with '
                                         'reset_parameters()')
                runner.logger.info(f'FreezeModulesHook: re-initialised {list(self.reinit)} (PyTorch default init) '
                                   'after loading the checkpoint')

    def _release(self) -> None:
        for param, flag in self._released:
            param.requires_grad_(flag)
        self._released = []
        self._norms = []

    def before_train_epoch(self, runner) -> None:
        if self.epochs is None or runner.epoch < self.epochs or not self._released:
            return
        self._release()
        runner.logger.info(f'FreezeModulesHook: warm-up over at epoch {runner.epoch}; {list(self.modules)} train from '
                           'now on')

    def after_train(self, runner) -> None:
        """A warm-up as long as the run leaves no frozen parameter behind."""
        self._release()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        # the loops call model.train() at every epoch (and after validation): put the frozen norms back every iteration
        for m in self._norms:
            m.eval()
