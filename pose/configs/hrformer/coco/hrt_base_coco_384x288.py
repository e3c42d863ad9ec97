# HRFormer-B, COCO top-down 384x288: the original's hrt_base_coco_384x288 in mmpose 1.x form.
# Original: 77.2 AP on val2017 with detected boxes (AP_H 56.4), flip test.
_base_ = ['../../_base_/hrt_coco_topdown_384x288.py', '../../_base_/models/hrt_base.py']

model = dict(backbone=dict(extra=dict(drop_path_rate=0.3)), head=dict(decoder=_base_.codec))
# Original: 8 GPUs x 8 images (global 64) with the same lr as the 256-batch configs.
auto_scale_lr = dict(base_batch_size=64)
train_dataloader = dict(batch_size=8)
default_hooks = dict(checkpoint=dict(interval=10))
