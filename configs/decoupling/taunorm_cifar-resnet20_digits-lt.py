# Decoupling: tau-normalised classifier on the digits stage-1 model (no training: w_c / ||w_c||^tau, bias dropped).
# tau is chosen on the val split by tools/decoupling/tau_sweep.py (which also writes a config like this one); the value
# below is what that sweep picked for the stage-1 run of joint_cifar-resnet20_digits-lt.py (see the README).
#   python tools/test.py configs/decoupling/taunorm_cifar-resnet20_digits-lt.py \
#       work_dirs/joint_cifar-resnet20_digits-lt/epoch_30.pth
_base_ = ['./joint_cifar-resnet20_digits-lt.py']
model = dict(head=dict(type='TauNormClsHead', tau=0.8))
