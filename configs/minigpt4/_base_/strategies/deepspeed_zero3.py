# DeepSpeed ZeRO stage 3: the weights too are partitioned over the processes (each keeps
# 1/N of every frozen weight and gathers a layer's while it runs), as FSDP.
_base_ = ['./deepspeed_zero2.py']

strategy = dict(
    zero_optimization=dict(
        stage=3, stage3_prefetch_bucket_size=int(5e7), stage3_param_persistence_threshold=int(1e5)))
