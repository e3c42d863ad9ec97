# HRFormer-S for the COCO configs: the original's stage layout, its ImageNet weights (from cls/
# or the official release; missing and skipped keys are logged), the head on the 1/4 branch.
_base_ = ['./hrt_topdown_heatmap.py']

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
