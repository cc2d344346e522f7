# FSDP (PyTorch's FullyShardedDataParallel, FULL_SHARD) through MMEngine's FlexibleRunner:
# each of N processes keeps 1/N of every frozen weight and gathers one layer at a time
# while it runs. 'FSDPStrategy' is the plugin's (MMEngine's with the fixes in
# mmpretrain_minigpt4/engine/strategies/fsdp.py). Start it with tools/dist_train.sh.
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        # The optimiser holds the model's own (trainable) parameters; frozen ones keep
        # requires_grad=False inside FSDP's flat parameters.
        use_orig_params=True,
        sharding_strategy='FULL_SHARD',
        # A unit per transformer layer; the fp32 image side in units of its own, so that
        # every unit holds one dtype (the root keeps the fp16 LLM's embeddings, norm and
        # head); the trainable projection / LoRA factors in their own small units.
        auto_wrap_policy=dict(
            type='frozen_model_wrap_policy',
            module_classes=[
                'timm.models.eva.EvaBlock',
                'transformers.models.blip_2.modeling_blip_2.Blip2QFormerLayer',
                'transformers.models.llama.modeling_llama.LlamaDecoderLayer',
                'mmpretrain_minigpt4.models.backbones.EVAViT',
                'mmpretrain_minigpt4.models.layers.FP32LayerNorm',
                'mmpretrain_minigpt4.models.necks.QFormerNeck',
            ])),
    # One checkpoint file written by rank 0, holding the trainable weights only, as DDP's.
    state_dict_cfg='full')
