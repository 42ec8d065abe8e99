# Decoupling: tau-normalised classifier on the CIFAR-100-LT stage-1 model. tau = 1.0 is a starting point: run
# tools/decoupling/tau_sweep.py (CIFAR-LT has no val split, so it selects on the test set; see README).
_base_ = ['./joint_cifar-resnet32_cifar100-lt-if100.py']
model = dict(head=dict(type='TauNormClsHead', tau=1.0))
