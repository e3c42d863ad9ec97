# The HRFormer COCO top-down recipe at 384x288 (the original's *_384x288 configs): a sigma-3
# codec in the steps of the 256x192 pipelines that use it. The original's val pipeline also
# generated (unused) sigma-3 targets; not needed here.
_base_ = ['./hrt_coco_topdown.py']

codec = dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3)
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
