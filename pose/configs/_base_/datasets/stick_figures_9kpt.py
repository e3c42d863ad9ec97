# A keypoint dataset of your own, in mmpose's dataset-info format (read through the datasets'
# `metainfo=dict(from_file=...)`): the stick figures of demo/stick_figures.py annotated with 9
# keypoints under their own names (head, shoulders, hands, hips, feet; no face, elbows or
# knees). Used by configs/custom/hrt_small_stick_figures_9kpt_256x192.py and the tests.
#   keypoint_info: id -> name, colour (RGB), body half (`type`, for RandomHalfBody) and the
#                  keypoint it becomes in a mirrored image (`swap`; '' for none)
#   skeleton_info: the links drawn between keypoints, by name, with their colours
#   joint_weights: loss weight per keypoint; sigmas: the OKS constant per keypoint (COCO AP)
dataset_info = dict(
    dataset_name='stick_figures_9kpt',
    keypoint_info={
        0: dict(name='head', id=0, color=[51, 153, 255], type='upper', swap=''),
        1: dict(name='left_shoulder', id=1, color=[0, 255, 0], type='upper',
                swap='right_shoulder'),
        2: dict(name='right_shoulder', id=2, color=[255, 128, 0], type='upper',
                swap='left_shoulder'),
        3: dict(name='left_hand', id=3, color=[0, 255, 0], type='upper', swap='right_hand'),
        4: dict(name='right_hand', id=4, color=[255, 128, 0], type='upper', swap='left_hand'),
        5: dict(name='left_hip', id=5, color=[0, 255, 0], type='lower', swap='right_hip'),
        6: dict(name='right_hip', id=6, color=[255, 128, 0], type='lower', swap='left_hip'),
        7: dict(name='left_foot', id=7, color=[0, 255, 0], type='lower', swap='right_foot'),
        8: dict(name='right_foot', id=8, color=[255, 128, 0], type='lower', swap='left_foot'),
    },
    skeleton_info={
        0: dict(link=('head', 'left_shoulder'), id=0, color=[51, 153, 255]),
        1: dict(link=('head', 'right_shoulder'), id=1, color=[51, 153, 255]),
        2: dict(link=('left_shoulder', 'right_shoulder'), id=2, color=[51, 153, 255]),
        3: dict(link=('left_shoulder', 'left_hand'), id=3, color=[0, 200, 200]),
        4: dict(link=('right_shoulder', 'right_hand'), id=4, color=[200, 0, 200]),
        5: dict(link=('left_shoulder', 'left_hip'), id=5, color=[0, 200, 200]),
        6: dict(link=('right_shoulder', 'right_hip'), id=6, color=[200, 0, 200]),
        7: dict(link=('left_hip', 'right_hip'), id=7, color=[51, 153, 255]),
        8: dict(link=('left_hip', 'left_foot'), id=8, color=[0, 200, 200]),
        9: dict(link=('right_hip', 'right_foot'), id=9, color=[200, 0, 200]),
    },
    # COCO's values for the joints these stand for (nose, shoulders, wrists, hips, ankles).
    joint_weights=[1.0, 1.0, 1.0, 1.5, 1.5, 1.0, 1.0, 1.5, 1.5],
    sigmas=[0.026, 0.079, 0.079, 0.062, 0.062, 0.107, 0.107, 0.089, 0.089])
