# HRFormer-S, COCO top-down 384x288: the original's hrt_small_coco_384x288 in mmpose 1.x form.
# The original pointed `pretrained` at hrt_base.pth, which cannot load into HRFormer-S
# (shape mismatch); the small ImageNet checkpoint is used here. The original's val pipeline
# also generated (unused) sigma-3 targets; not needed here.
# Original: 75.6 AP on val2017 with detected boxes (AP_H 56.4), flip test.
_base_ = ['./hrt_small_coco_256x192.py']

codec = dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3)
model = dict(head=dict(decoder=codec))
# Lists replace (do not merge into) the base's: the base pipelines, with this codec in the
# steps that use it, found by type (not position, so a step added to the base stays).
train_pipeline = [
    dict(step, **{'TopdownAffine': dict(input_size=codec['input_size']),
                  'GenerateTarget': dict(encoder=codec)}.get(step['type'], {}))
    for step in _base_.train_pipeline]
val_pipeline = [
    dict(step, **{'TopdownAffine': dict(input_size=codec['input_size'])}.get(step['type'], {}))
    for step in _base_.val_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
