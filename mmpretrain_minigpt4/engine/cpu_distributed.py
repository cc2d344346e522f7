"""torchrun on machines without a GPU: what MMEngine's Runner needs to run distributed on CPU."""
import torch
from mmengine.config import Config


def use_cpu_distributed(cfg: Config) -> None:
    """Prepare ``cfg`` for ``--launcher pytorch`` on CPU: gloo, and DDP without device ids.

    MMEngine's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
    wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on CPU. The process
    group is created here (MMEngine then keeps it). tools/train.py and
    tools/test.py call this when torchrun starts them on a machine without CUDA.
    """
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend='gloo')
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper.setdefault('device_ids', None)
    wrapper.setdefault('broadcast_buffers', False)
    cfg.model_wrapper_cfg = wrapper
