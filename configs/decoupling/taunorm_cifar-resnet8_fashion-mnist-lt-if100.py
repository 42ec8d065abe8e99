# Decoupling: tau-normalised classifier on the Fashion-MNIST-LT IF 100 stage-1 model (no training: w_c / ||w_c||^tau,
# bias dropped). Choose tau on val with tools/decoupling/tau_sweep.py, which writes the config to test with;
# tau = 1 here is only the neutral starting point, not a tuned value.
#   python tools/decoupling/extract_features.py configs/decoupling/joint_cifar-resnet8_fashion-mnist-lt-if100.py \
#       CKPT --out feats.npz
#   python tools/decoupling/tau_sweep.py feats.npz --out-config tau.py --out-checkpoint tau.pth
_base_ = ['./joint_cifar-resnet8_fashion-mnist-lt-if100.py']
model = dict(head=dict(type='TauNormClsHead', tau=1.0))
