# Decoupling: tau-normalised classifier on the iNaturalist 2018 stage-1 model. The tau below (1.0, unit-norm weights) is
# a starting point, not the paper's selection: run tools/decoupling/tau_sweep.py on the stage-1 features (iNat's val list
# is also its test set, see README) and use the config it writes.
_base_ = ['./joint_resnet50_inat18.py']
model = dict(head=dict(type='TauNormClsHead', tau=1.0))
