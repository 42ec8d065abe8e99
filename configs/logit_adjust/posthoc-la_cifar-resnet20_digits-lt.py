# Post-hoc logit adjustment (Menon et al., ICLR 2021) of the joint (CE, instance-balanced) digits baseline:
# validation and test use logits - tau * log(prior) (tau = 1.0, the --tau default of the official
# google-research logit_adjustment/main.py, whose post-hoc mode subtracts log(base_probs^tau + 1e-12));
# training and the saved checkpoints are those of the joint baseline. To choose tau and bake it into a new checkpoint:
#   python tools/logit_adjust/posthoc_la.py configs/decoupling/joint_cifar-resnet20_digits-lt.py JOINT_CKPT --out la.pth
#   python tools/train.py configs/logit_adjust/posthoc-la_cifar-resnet20_digits-lt.py
_base_ = ['../decoupling/joint_cifar-resnet20_digits-lt.py']
custom_hooks = [
    dict(type='ClassCountsHook'),
    dict(type='PosthocLogitAdjustHook', tau=1.0),
]
