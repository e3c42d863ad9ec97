# The HRFormer COCO top-down recipe shared by configs/hrformer/coco/ (mmpose 1.x form of the
# original's hrt_*_coco_*.py), at 256x192: schedule, codec, data and evaluation. The model
# comes from a second base, `_base_/models/hrt_{tiny,small,base}.py`; each config sets the
# head's decoder to this codec. `hrt_coco_topdown_384x288.py` is this recipe at 384x288.
_base_ = ['./default_runtime.py']

# Schedule: 210 epochs, lr 5e-4, x0.1 at epochs 170 and 200, 500 linear warm-up iterations.
train_cfg = dict(by_epoch=True, max_epochs=210, val_interval=10)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    # fp16 with a dynamic loss scale like the original's Fp16OptimizerHook (scale starts at 2**32,
    # x2 after 1000 clean steps, /2 on overflow). Autocast keeps BN/LN in fp32 where the original
    # cast LayerNorm to fp16. tools/train.py uses fp32 on machines without CUDA.
    type='AmpOptimWrapper',
    loss_scale=dict(init_scale=2.**32, growth_factor=2.0, backoff_factor=0.5,
                    growth_interval=1000),
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.01),
    # Read by mmengine at this level (not inside `optimizer`). Only the relative position
    # tables skip weight decay; norms and biases are decayed, as in the original.
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
param_scheduler = [
    # lr * (0.001 + 0.999 * it / 500) for it < 500: the original's linear warm-up with ratio
    # 0.001 (mmengine's LinearLR spans end - begin - 1 steps, hence 501).
    dict(type='LinearLR', begin=0, end=501, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True),
]
# Original: 8 GPUs x 32 images. `--auto-scale-lr` scales lr for other global batch sizes.
auto_scale_lr = dict(base_batch_size=256)

codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

# CocoDataset with malformed annotations named (hrformer_pose/datasets.py).
dataset_type = 'CheckedCocoDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

train_pipeline = [
    dict(type='LoadImage'),
    # Box -> centre and scale, enlarged x1.25 and fixed to the 3:4 aspect ratio.
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='RandomFlip', direction='horizontal', prob=0.5),
    # Original: more than 8 visible joints, prob 0.3, upper body if randn() < 0.5 (p = 0.6915)
    # and at least 3 upper joints, else the lower body if it has at least 3; box x1.5.
    dict(type='RandomHalfBody', min_total_keypoints=9, min_upper_keypoints=3,
         min_lower_keypoints=3, padding=1.5, prob=0.3, upper_prioritized_prob=0.6915),
    # The original's clipped-normal scale (0.5) and rotation (40 deg, p 0.6) and uniform
    # centre jitter (hrformer_pose/transforms.py); mmpose 1.x's own uses truncated normals.
    dict(type='OriginalRandomBBoxTransform', shift_factor=0.16, shift_prob=0.3,
         scale_factor=0.5, rotate_factor=40, rotate_prob=0.6),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale', padding=1.25),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, data_mode=data_mode,
                 ann_file='annotations/person_keypoints_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, data_mode=data_mode,
                 ann_file='annotations/person_keypoints_val2017.json',
                 # Detector boxes (AP_H 56.4), all scores kept (det_bbox_thr=0.0), person only.
                 # For ground-truth boxes: --cfg-options val_dataloader.dataset.bbox_file=None
                 bbox_file='data/coco/person_detection_results/'
                 'COCO_val2017_detections_AP_H_56_person.json',
                 filter_cfg=dict(bbox_score_thr=0.0),
                 data_prefix=dict(img='val2017/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader

# Rescoring (mean keypoint score above 0.2 x box score) and OKS-NMS at 0.9, as the original.
val_evaluator = dict(type='CocoMetric',
                     ann_file=data_root + 'annotations/person_keypoints_val2017.json',
                     score_mode='bbox_keypoint', keypoint_score_thr=0.2, nms_mode='oks_nms',
                     nms_thr=0.9)
test_evaluator = val_evaluator
