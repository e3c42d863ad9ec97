# Minimal top-down model for the tests: HRFormer-S backbone + 1x1-conv heatmap head, 17 joints.
# (The full COCO training configs live under configs/.)
custom_imports = dict(imports=['hrformer_pose'], allow_failed_imports=False)
default_scope = 'mmpose'

codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='HRT',
        in_channels=3,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        extra=dict(
            drop_path_rate=0.1,
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(2, ), num_channels=(64, ), num_heads=[2],
                        num_mlp_ratios=[4]),
            stage2=dict(num_modules=1, num_branches=2, block='TRANSFORMER_BLOCK',
                        num_blocks=(2, 2), num_channels=(32, 64), num_heads=[1, 2],
                        num_mlp_ratios=[4, 4], num_window_sizes=[7, 7]),
            stage3=dict(num_modules=4, num_branches=3, block='TRANSFORMER_BLOCK',
                        num_blocks=(2, 2, 2), num_channels=(32, 64, 128),
                        num_heads=[1, 2, 4], num_mlp_ratios=[4, 4, 4],
                        num_window_sizes=[7, 7, 7]),
            stage4=dict(num_modules=2, num_branches=4, block='TRANSFORMER_BLOCK',
                        num_blocks=(2, 2, 2, 2), num_channels=(32, 64, 128, 256),
                        num_heads=[1, 2, 4, 8], num_mlp_ratios=[4, 4, 4, 4],
                        num_window_sizes=[7, 7, 7, 7]))),
    head=dict(
        type='HeatmapHead',
        in_channels=32,
        out_channels=17,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=False))

# Only its type is read: init_model takes the COCO keypoint metainfo from it.
train_dataloader = dict(dataset=dict(type='CocoDataset'))
