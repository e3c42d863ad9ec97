# Training on your own keypoints (README, "Train on your own data"): HRFormer-S 256x192
# fine-tuned from mmpose's COCO checkpoint on a 9-keypoint dataset, the stick figures of
# configs/_base_/datasets/stick_figures_9kpt.py. For your data, copy this file and set the
# data root, the dataset-info file, the keypoint count and (optionally) the checkpoint.
#   data_root/annotations/train.json, data_root/annotations/val.json: COCO keypoint files with
#       `num_keypoints` x (x, y, visibility) per annotation
#   data_root/images/: the images (the files' `file_name` is relative to it)
_base_ = ['../hrformer/coco/hrt_small_coco_256x192.py']

data_root = 'data/stick_figures_9kpt/'
# Names, left/right pairs, skeleton, OKS sigmas, joint weights, colours of the keypoints.
metainfo = dict(from_file='{{fileDirname}}/../_base_/datasets/stick_figures_9kpt.py')
num_keypoints = 9

# Every weight of a released COCO checkpoint that fits (a file or an http(s) URL, downloaded
# once): all but the 17-keypoint head, which is re-initialised and named in one log line.
# mmpose's model-zoo file (docs/mmpose_models.md) was trained with the relative position bias;
# with the original's release (hrt_small_coco_256x192.pth) drop `with_rpe`.
load_from = ('https://download.openmmlab.com/mmpose/top_down/hrformer/'
             'hrformer_small_coco_256x192-5310d898_20220316.pth')
model = dict(
    backbone=dict(init_cfg=None, extra=dict(with_rpe=True)),  # no ImageNet init: load_from
    head=dict(out_channels=num_keypoints))

train_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/train.json',
                 data_prefix=dict(img='images/')))
# Ground-truth boxes (no person detector file); COCO AP with the dataset's sigmas.
val_dataloader = dict(
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/val.json',
                 data_prefix=dict(img='images/'), bbox_file=None))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
