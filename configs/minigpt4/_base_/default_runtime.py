# Runtime shared by every MiniGPT-4 config: mmpretrain's registries (the plugin
# registers into them), the plugin imported by Config.fromfile, MMEngine hooks.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmpretrain_minigpt4'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# A progress bar over evaluation batches (the LoggerHook prints a line per interval), and
# torch's random state in checkpoints (a resumed run draws the same dropout masks).
custom_hooks = [dict(type='ProgressBarHook'), dict(type='RandomStateHook')]

# Scalars to vis_data/scalars.json, and the loss curve drawn as vis_data/loss_curve.png.
vis_backends = [dict(type='LocalVisBackend'), dict(type='LossCurveVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=42, deterministic=False)
