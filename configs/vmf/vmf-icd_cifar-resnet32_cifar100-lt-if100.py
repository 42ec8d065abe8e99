# vMF + ICD on CIFAR-100-LT (IF 100); see vmf_cifar-resnet32_cifar100-lt-if100.py.
_base_ = ['./vmf_cifar-resnet32_cifar100-lt-if100.py']
model = dict(head=dict(aux_loss='icd'))
