# HRFormer-B, COCO top-down 256x192: the original's hrt_base_coco_256x192 in mmpose 1.x form.
# Original: 75.6 AP on val2017 with detected boxes (AP_H 56.4), flip test.
# The HRFormer-S recipe with the HRFormer-B backbone (channels 78/156/312/624, twice the heads)
# and drop path 0.2.
_base_ = ['./hrt_small_coco_256x192.py']

model = dict(
    backbone=dict(
        extra=dict(drop_path_rate=0.2,
                   stage2=dict(num_channels=(78, 156), num_heads=[2, 4]),
                   stage3=dict(num_channels=(78, 156, 312), num_heads=[2, 4, 8]),
                   stage4=dict(num_channels=(78, 156, 312, 624), num_heads=[2, 4, 8, 16])),
        init_cfg=dict(checkpoint='checkpoints/hrt_base.pth')),
    head=dict(in_channels=78))
