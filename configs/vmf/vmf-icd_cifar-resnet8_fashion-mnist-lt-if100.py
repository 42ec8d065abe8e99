# vMF classifier + ICD loss (vMF-OP vmf_icd.yaml recipe) on Fashion-MNIST-LT IF 100: the inter-class discrepancy loss
# lambda_e * sum_{i != j} O_ij / C^2 with lambda_e = 0.2 (1 - e/E)^0.9.
#   python tools/train.py configs/vmf/vmf-icd_cifar-resnet8_fashion-mnist-lt-if100.py
_base_ = ['./vmf_cifar-resnet8_fashion-mnist-lt-if100.py']
model = dict(head=dict(aux_loss='icd'))
