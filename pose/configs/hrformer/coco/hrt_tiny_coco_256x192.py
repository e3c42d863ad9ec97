# HRFormer-T, COCO top-down 256x192. The original has no tiny pose config: this is the
# HRFormer-S recipe with the HRFormer-T backbone (the cls `hrt_tiny` layout: channels
# 18/36/72/144, 3 modules in stage 3). No reference result.
_base_ = ['./hrt_small_coco_256x192.py']

model = dict(
    backbone=dict(
        extra=dict(stage2=dict(num_channels=(18, 36)),
                   stage3=dict(num_modules=3, num_channels=(18, 36, 72)),
                   stage4=dict(num_channels=(18, 36, 72, 144))),
        init_cfg=dict(checkpoint='checkpoints/hrt_tiny.pth')),
    head=dict(in_channels=18))
