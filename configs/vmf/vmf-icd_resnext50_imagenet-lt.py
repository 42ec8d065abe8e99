# vMF-OP + ICD on ImageNet-LT, official vmf_icd.yaml (the README's ~54.5 top-1 run): vmf_resnext50_imagenet-lt.py with
# the inter-class discrepancy loss, lambda_e = 0.2 (1 - e/45)^0.9.
_base_ = ['./vmf_resnext50_imagenet-lt.py']
model = dict(head=dict(aux_loss='icd'))
