"""The machine and software a benchmark ran on, recorded with its results."""
import os
import os.path as osp
import platform
import subprocess

import torch


def machine_info(device: torch.device) -> dict:
    """Platform, CPU, torch threads, library versions, the plugin's commit and the GPU's name."""
    import mmengine
    import mmpretrain
    import timm
    import transformers
    info = dict(
        platform=platform.platform(), python=platform.python_version(),
        cpu=cpu_name(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
        torch=torch.__version__, transformers=transformers.__version__,
        mmpretrain=mmpretrain.__version__, mmengine=mmengine.__version__,
        timm=timm.__version__, commit=git_commit())
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def cpu_name() -> str:
    """The CPU model from ``/proc/cpuinfo`` (Linux), else what ``platform`` knows."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_commit() -> str:
    """The short commit of the plugin's checkout, ``+dirty`` with uncommitted changes;
    ``'unknown'`` outside a git checkout."""
    package_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=package_dir,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=package_dir, capture_output=True, text=True).stdout.strip()
        return commit + ('+dirty' if dirty else '')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
