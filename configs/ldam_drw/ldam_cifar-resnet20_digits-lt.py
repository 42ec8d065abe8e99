# LDAM without DRW (the "LDAM" row of Cao et al.), same network and schedule as ldam-drw_cifar-resnet20_digits-lt.py.
#   python tools/train.py configs/ldam_drw/ldam_cifar-resnet20_digits-lt.py
_base_ = ['./ldam-drw_cifar-resnet20_digits-lt.py']
custom_hooks = [dict(type='ClassCountsHook')]
