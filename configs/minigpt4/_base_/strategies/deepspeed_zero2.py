# DeepSpeed ZeRO stage 2 through MMEngine's FlexibleRunner: the optimiser states and
# gradients are partitioned over the processes; every process keeps all the weights.
# Needs `DS_BUILD_OPS=0 pip install deepspeed`; start it with tools/dist_train.sh. A config
# inheriting this sets optim_wrapper.type='DeepSpeedOptimWrapper' (DeepSpeed's engine steps).
strategy = dict(
    type='DeepSpeedStrategy',
    zero_optimization=dict(
        stage=2, overlap_comm=True, contiguous_gradients=True,
        reduce_bucket_size=int(5e7), allgather_bucket_size=int(5e7)),
    # The schedules' torch AdamW (DeepSpeed lists only its own optimisers as tested).
    config=dict(zero_allow_untested_optimizer=True),
    # Checkpoints (a folder per checkpoint) hold the trainable weights only.
    exclude_frozen_parameters=True)
