# HRFormer-T, COCO top-down 256x192. The original has no tiny pose config: this is the
# HRFormer-S recipe with the HRFormer-T backbone. No reference result.
_base_ = ['../../_base_/hrt_coco_topdown.py', '../../_base_/models/hrt_tiny.py']

model = dict(head=dict(decoder=_base_.codec))
