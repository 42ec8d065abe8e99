# Runtime of decoupling's stage 2 (LWS, and cRT through decoupling_crt_runtime.py): the stage-1 checkpoint (load_from,
# set by each config) is loaded and the representation (backbone + neck) is frozen for the whole run. norm_eval=False
# is the official BatchNorm behaviour: the frozen BatchNorm layers use batch statistics and update their running
# statistics on the class-balanced stage-2 data (see configs/decoupling/README.md).
_base_ = ['./default_runtime.py']
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='FreezeModulesHook', modules=['backbone', 'neck'], norm_eval=False),
]
find_unused_parameters = True  # distributed runs: the frozen parameters get no gradient
