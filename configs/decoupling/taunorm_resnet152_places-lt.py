# Decoupling: tau-normalised classifier on the Places-LT stage-1 model. tau = 1.0 (unit-norm weights) is a starting
# point, not the paper's selection: run tools/decoupling/tau_sweep.py on the val features and use the config it writes.
_base_ = ['./joint_resnet152_places-lt.py']
model = dict(head=dict(type='TauNormClsHead', tau=1.0))
