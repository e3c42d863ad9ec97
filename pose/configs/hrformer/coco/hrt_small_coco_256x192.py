# HRFormer-S, COCO top-down 256x192: the original's hrt_small_coco_256x192 in mmpose 1.x form.
# Original: 74.0 AP on val2017 with detected boxes (AP_H 56.4), flip test.
_base_ = ['../../_base_/hrt_coco_topdown.py']

model = dict(
    backbone=dict(
        extra=dict(
            drop_path_rate=0.1,
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(2, ),
                        num_channels=(64, ), num_heads=[2], num_mlp_ratios=[4]),
            stage2=dict(num_modules=1, num_branches=2, block='TRANSFORMER_BLOCK',
                        num_blocks=(2, 2), num_channels=(32, 64), num_heads=[1, 2],
                        num_mlp_ratios=[4, 4], num_window_sizes=[7, 7]),
            stage3=dict(num_modules=4, num_branches=3, block='TRANSFORMER_BLOCK',
                        num_blocks=(2, 2, 2), num_channels=(32, 64, 128), num_heads=[1, 2, 4],
                        num_mlp_ratios=[4, 4, 4], num_window_sizes=[7, 7, 7]),
            stage4=dict(num_modules=2, num_branches=4, block='TRANSFORMER_BLOCK',
                        num_blocks=(2, 2, 2, 2), num_channels=(32, 64, 128, 256),
                        num_heads=[1, 2, 4, 8], num_mlp_ratios=[4, 4, 4, 4],
                        num_window_sizes=[7, 7, 7, 7])),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/hrt_small.pth')),
    head=dict(in_channels=32))
