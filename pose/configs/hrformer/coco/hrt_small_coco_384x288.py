# HRFormer-S, COCO top-down 384x288: the original's hrt_small_coco_384x288 in mmpose 1.x form.
# The original pointed `pretrained` at hrt_base.pth, which cannot load into HRFormer-S
# (shape mismatch); the small ImageNet checkpoint is used here.
# Original: 75.6 AP on val2017 with detected boxes (AP_H 56.4), flip test.
_base_ = ['../../_base_/hrt_coco_topdown_384x288.py', '../../_base_/models/hrt_small.py']

model = dict(head=dict(decoder=_base_.codec))
