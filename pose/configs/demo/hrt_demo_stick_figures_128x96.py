# The embedded demo (tools/demo.py): a small HRFormer trained for about two minutes on CPU on
# the generated stick-figure dataset (demo/stick_figures.py), evaluated with COCO keypoint AP.
# Same components as the COCO configs; smaller model, input and schedule, a higher learning
# rate, milder augmentation and DARK heatmap decoding so that it converges in minutes. The rest
# (loaders, evaluation, runtime) is the COCO recipe's (_base_/hrt_coco_topdown.py).
_base_ = ['../_base_/hrt_coco_topdown.py', '../_base_/models/hrt_topdown_heatmap.py']

max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)

optim_wrapper = dict(
    _delete_=True,  # fp32 (mmengine's OptimWrapper), not the recipe's fp16 AmpOptimWrapper
    optimizer=dict(type='AdamW', lr=4e-3, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=30, start_factor=0.001, by_epoch=False),
    dict(type='CosineAnnealingLR', begin=0, end=max_epochs, T_max=max_epochs, eta_min=4e-5,
         by_epoch=True, convert_to_iter_based=True),
]

# Runtime: the COCO configs' (_base_/default_runtime.py), logging every 20 iterations, one
# checkpoint at the end (no best-AP tracking), gloo, seeded.
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(_delete_=True, type='AtomicCheckpointHook', interval=max_epochs,
                    max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
log_processor = dict(window_size=20)
randomness = dict(seed=0)

# unbiased=True: DARK (mmpose's MSRAHeatmap option): sub-pixel targets and a Taylor-refined
# peak. The 32x24 heatmaps are coarse; it gained about 0.05 AP here at no training cost.
codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2,
             unbiased=True)

channels = (16, 32, 64, 128)
model = dict(
    backbone=dict(
        # From scratch: the original's N(0, 0.001) conv init shrinks activations into float
        # denormals, which are very slow on CPUs; He init trains faster here.
        init_cfg=dict(type='Kaiming', layer='Conv2d'),
        extra=dict(
            drop_path_rate=0.0,
            # 16 planes: the bottleneck's 64 outputs match the stem, so no projection.
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                        num_channels=(16, ), num_heads=[2], num_mlp_ratios=[4]),
            # One block per branch, MLP ratio 2 and 8x8 windows (the released models: 4 and
            # 7x7); 8 divides the 32x24 branch-0 map, which then needs no window padding.
            stage2=dict(num_modules=1, num_branches=2, block='TRANSFORMER_BLOCK',
                        num_blocks=(1, 1), num_channels=channels[:2], num_heads=[1, 2],
                        num_mlp_ratios=[2, 2], num_window_sizes=[8, 8]),
            stage3=dict(num_modules=1, num_branches=3, block='TRANSFORMER_BLOCK',
                        num_blocks=(1, 1, 1), num_channels=channels[:3], num_heads=[1, 2, 4],
                        num_mlp_ratios=[2, 2, 2], num_window_sizes=[8, 8, 8]),
            stage4=dict(num_modules=1, num_branches=4, block='TRANSFORMER_BLOCK',
                        num_blocks=(1, 1, 1, 1), num_channels=channels, num_heads=[1, 2, 4, 8],
                        num_mlp_ratios=[2, 2, 2, 2], num_window_sizes=[8, 8, 8, 8]))),
    head=dict(in_channels=channels[0], decoder=codec))

data_root = 'demo_data/stick_figures/'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='OriginalRandomBBoxTransform', scale_factor=0.25, rotate_factor=20),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
# The recipe's val pipeline, at this codec's input size.
val_pipeline = [
    dict(step, **{'TopdownAffine': dict(input_size=codec['input_size'])}.get(step['type'], {}))
    for step in _base_.val_pipeline]

# Every image used (no drop_last); ground-truth boxes for evaluation (no detector file).
train_dataloader = dict(
    num_workers=1, drop_last=False,
    dataset=dict(data_root=data_root, ann_file='annotations/train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=1,
    dataset=dict(data_root=data_root, ann_file='annotations/val.json', bbox_file=None,
                 data_prefix=dict(img='val/'), pipeline=val_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
