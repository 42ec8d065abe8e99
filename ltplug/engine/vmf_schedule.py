"""Helpers shared by the vMF heads of the three task adapters: the decaying auxiliary-loss weight and init_cfg edits."""
from __future__ import annotations

import copy

from mmengine.logging import MessageHub

from ltplug.core.vmf import aux_loss_weight

# 'epoch': lambda_e = base (1 - e/E)^power, constant within an epoch (the official, epoch-based rule);
# 'iter':  the same decay over iter / max_iters (mmseg-style IterBasedTrainLoop reports a single epoch);
# 'auto':  'epoch' when the run has more than one epoch, else 'iter'.
AUX_SCHEDULES = ('auto', 'epoch', 'iter')


def check_aux_schedule(schedule: str, where: str) -> str:
    """Validate an ``aux_loss_schedule`` argument."""
    if schedule not in AUX_SCHEDULES:
        raise ValueError(f'{where}: aux_loss_schedule must be one of {AUX_SCHEDULES}, got {schedule!r}')
    return schedule


def current_aux_weight(base: float, power: float, schedule: str = 'auto', where: str = 'vMF head') -> float:
    """lambda = base (1 - t/T)^power, (t, T) = (epoch, max_epochs) or (iter, max_iters) from mmengine's MessageHub."""
    check_aux_schedule(schedule, where)
    hub = MessageHub.get_current_instance()
    if schedule == 'auto':
        max_epochs = hub.get_info('max_epochs')
        schedule = 'epoch' if max_epochs is not None and int(max_epochs) > 1 else 'iter'
    keys = ('iter', 'max_iters') if schedule == 'iter' else ('epoch', 'max_epochs')
    t, total = hub.get_info(keys[0]), hub.get_info(keys[1])
    if t is None or not total:
        raise ValueError(f"{where}: the auxiliary-loss weight {base} (1 - t/T)^{power} needs '{keys[0]}' and "
                         f"'{keys[1]}' in mmengine's MessageHub runtime info. Train through mmengine's Runner "
                         '(RuntimeInfoHook sets them) or set them with MessageHub.update_info.')
    return aux_loss_weight(min(int(t), int(total)), int(total), base, power)


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


def configure_aux_losses(module, aux_loss, aux_loss_weight: float, aux_loss_power: float, aux_loss_schedule: str,
                         where: str) -> None:
    """Validate the auxiliary-loss arguments every vMF head takes and store them on ``module``.

    Sets ``use_icd``, ``use_cfc``, ``aux_loss_base``, ``aux_loss_power`` and ``aux_loss_schedule``; ``where`` names the
    config key in error messages (e.g. 'VMFClsHead: model.head').
    """
    from ltplug.core.vmf import parse_aux_losses

    try:
        module.use_icd, module.use_cfc = parse_aux_losses(aux_loss)
    except ValueError as e:
        raise ValueError(f'{where}.aux_loss: {e}') from None
    check_aux_schedule(aux_loss_schedule, where)
    if not aux_loss_weight >= 0:
        raise ValueError(f'{where}.aux_loss_weight must be >= 0, got {aux_loss_weight}')
    module.aux_loss_base = float(aux_loss_weight)
    module.aux_loss_power = float(aux_loss_power)
    module.aux_loss_schedule = aux_loss_schedule
