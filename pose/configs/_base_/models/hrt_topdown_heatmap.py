# The top-down heatmap model of every config (COCO and demo): HRT backbone, the original's
# 1x1-conv heatmap head, flip test. The config using it adds the backbone's stage layout and
# weights, the head's `in_channels` and its decoder (the config's codec).
model = dict(
    type='TopdownPoseEstimator',
    # RGB, ImageNet mean/std (the original: ToTensor then NormalizeTensor).
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        type='HRT',
        in_channels=3,
        # SyncBN across GPUs; plain BN on CPU or in a single process (hrformer_pose.backbone).
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    head=dict(
        # The original's TopDownSimpleHead with no deconvs: one 1x1 conv to 17 heatmaps.
        type='HeatmapHead',
        out_channels=17,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    # Flip test; the flipped heatmap is shifted one pixel right before averaging
    # (the original's `shift_heatmap=True`; mmpose 1.x does the same shift).
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))
