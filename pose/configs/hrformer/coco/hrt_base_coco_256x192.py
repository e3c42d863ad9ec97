# HRFormer-B, COCO top-down 256x192: the original's hrt_base_coco_256x192 in mmpose 1.x form.
# Original: 75.6 AP on val2017 with detected boxes (AP_H 56.4), flip test.
_base_ = ['../../_base_/hrt_coco_topdown.py', '../../_base_/models/hrt_base.py']

model = dict(head=dict(decoder=_base_.codec))
