# Decoupling: tau-normalised classifier on the ImageNet-LT stage-1 (IB) model, tau = 0.7 (the best tau-norm setting in the
# vMF-OP appendix's experiments, docs/methods.md §4.3). No training: tools/decoupling/tau_sweep.py re-selects tau on val and writes a config
# like this one. Test directly with the stage-1 checkpoint (same fc.weight / fc.bias keys):
#   bash tools/dist_test.sh configs/decoupling/taunorm_resnext50_imagenet-lt.py \
#       work_dirs/joint-ib_resnext50_imagenet-lt/epoch_90.pth 8
_base_ = ['./joint-ib_resnext50_imagenet-lt.py']
model = dict(head=dict(type='TauNormClsHead', tau=0.7))
