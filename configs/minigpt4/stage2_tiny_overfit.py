# The quick start's "overfit a tiny set" run (tools/run_demo.sh): the tiny stage 2
# trains on the 8 photos of the mini cc_sbu_align until the greedy caption of each
# photo is its own training caption (tools/compare_training_captions.py checks
# it), which shows that images, prompts, targets and generation fit together.
# Unlike the official recipe the LLM trains too: the tiny LLM is random, so it
# must learn the language itself (a real LLM knows it; the projection alone
# cannot teach a random LLM 8 paragraphs). The frozen random weights are saved
# in the checkpoints, as inference needs the same ones; the frozen features are
# cached (no augmentation here).
_base_ = ['./stage2_tiny.py']

model = dict(freeze_llm=False, save_frozen_weights=True, cache_frozen_features=True)
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [dict(_base_.param_scheduler[0], warmup_iters=10, warmup_start_lr=1e-4,
                        eta_min=1e-4, end=300)]
train_cfg = dict(max_iters=300)
default_hooks = dict(checkpoint=dict(interval=100, max_keep_ckpts=1), logger=dict(interval=20))
