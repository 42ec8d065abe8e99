# vMF classifier + ICD loss (vMF-OP vmf_icd.yaml recipe) on the bundled long-tailed digits: the inter-class
# discrepancy loss lambda_e * sum_{i != j} O_ij / C^2 with lambda_e = 0.2 (1 - e/E)^0.9; op (for calibration) is then
# the overlap row mean of the last training mini-batch.
#   python tools/train.py configs/vmf/vmf-icd_cifar-resnet20_digits-lt.py
_base_ = ['./vmf_cifar-resnet20_digits-lt.py']
model = dict(head=dict(aux_loss='icd'))
