# HRFormer-B, COCO top-down 384x288: the original's hrt_base_coco_384x288 in mmpose 1.x form.
# The original's val pipeline also generated (unused) sigma-3 targets; not needed here.
# Original: 77.2 AP on val2017 with detected boxes (AP_H 56.4), flip test.
_base_ = ['./hrt_base_coco_256x192.py']

# Original: 8 GPUs x 8 images (global 64) with the same lr as the 256-batch configs.
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(checkpoint=dict(interval=10))

codec = dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3)
model = dict(backbone=dict(extra=dict(drop_path_rate=0.3)), head=dict(decoder=codec))
# Lists replace (do not merge into) the base's: the base pipelines, with this codec in the
# steps that use it, found by type (not position, so a step added to the base stays).
train_pipeline = [
    dict(step, **{'TopdownAffine': dict(input_size=codec['input_size']),
                  'GenerateTarget': dict(encoder=codec)}.get(step['type'], {}))
    for step in _base_.train_pipeline]
val_pipeline = [
    dict(step, **{'TopdownAffine': dict(input_size=codec['input_size'])}.get(step['type'], {}))
    for step in _base_.val_pipeline]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
