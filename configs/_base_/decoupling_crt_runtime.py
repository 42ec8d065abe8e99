# Runtime of classifier re-training (cRT): the stage-2 runtime, plus the linear classifier re-initialised (PyTorch's
# default init) after the stage-1 checkpoint is loaded, as the official load_model skips the classifier weights.
_base_ = ['./decoupling_stage2_runtime.py']
custom_hooks = [_base_.custom_hooks[0], dict(_base_.custom_hooks[1], reinit=['head.fc'])]
