# HRFormer-T for the COCO configs. The original has no tiny pose model: this is HRFormer-S
# with the cls `hrt_tiny` layout (channels 18/36/72/144, 3 modules in stage 3).
_base_ = ['./hrt_small.py']

model = dict(
    backbone=dict(
        extra=dict(stage2=dict(num_channels=(18, 36)),
                   stage3=dict(num_modules=3, num_channels=(18, 36, 72)),
                   stage4=dict(num_channels=(18, 36, 72, 144))),
        init_cfg=dict(checkpoint='checkpoints/hrt_tiny.pth')),
    head=dict(in_channels=18))
