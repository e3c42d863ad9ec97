# HRFormer-B for the COCO configs: HRFormer-S with channels 78/156/312/624, twice the heads
# and drop path 0.2.
_base_ = ['./hrt_small.py']

model = dict(
    backbone=dict(
        extra=dict(drop_path_rate=0.2,
                   stage2=dict(num_channels=(78, 156), num_heads=[2, 4]),
                   stage3=dict(num_channels=(78, 156, 312), num_heads=[2, 4, 8]),
                   stage4=dict(num_channels=(78, 156, 312, 624), num_heads=[2, 4, 8, 16])),
        init_cfg=dict(checkpoint='checkpoints/hrt_base.pth')),
    head=dict(in_channels=78))
