# Runtime settings shared by the HRFormer COCO configs (mmengine Runner).
default_scope = 'mmpose'
custom_imports = dict(imports=['hrformer_pose'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # The original logged every 50 iterations (TextLoggerHook).
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # save_best: the original's EvalHook(save_best=True, key_indicator='AP').
    checkpoint=dict(type='AtomicCheckpointHook', interval=5, save_best='coco/AP', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='PoseVisualizationHook', enable=False))
# A NaN/inf loss stops the run with a clear error; checkpoints carry the RNG states, so a
# resumed run continues as an uninterrupted one would (hrformer_pose/hooks.py).
custom_hooks = [dict(type='StopOnNonFiniteLossHook'), dict(type='ResumeRandomnessHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch to gloo on machines without CUDA.
    dist_cfg=dict(backend='nccl'))
# As the original's DDP: no gradient for the relative position tables (the pose backbone
# does not add the bias), and BN buffers are not broadcast.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True,
                         broadcast_buffers=False)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='PoseLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True, num_digits=6)
log_level = 'INFO'
load_from = None
resume = False
# The original's training was unseeded (tools/train.py --seed default None).
randomness = dict(seed=None)
