"""Install the MiniGPT-4 plugin for mmpretrain / MMEngine."""
import os.path as osp

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

AUTOLOAD_PTH = 'mmpretrain_minigpt4_autoload.pth'
# OpenMMLab's `.mim` layout: model names and configs inside the installed package.
SHIPPED_FILES = ('configs', 'model-index.yml')


class BuildWithShippedFiles(build_py):
    """Also put into the wheel:

    - the autoload ``.pth`` at its root (site-packages), so that ``from mmpretrain
      import inference_model`` serves this plugin's models without ``import
      mmpretrain_minigpt4`` (editable installs: tools/setup_env.sh copies it);
    - ``configs/`` and ``model-index.yml`` under ``mmpretrain_minigpt4/.mim/`` (a
      source checkout has symbolic links there instead).
    """

    def run(self):
        super().run()
        self.copy_file(AUTOLOAD_PTH, osp.join(self.build_lib, AUTOLOAD_PTH))
        if getattr(self, 'editable_mode', False):
            return
        shipped_root = osp.join(self.build_lib, 'mmpretrain_minigpt4', '.mim')
        for name in SHIPPED_FILES:
            target = osp.join(shipped_root, name)
            if osp.isdir(name):
                self.copy_tree(name, target)
            else:
                self.copy_file(name, target)


setup(
    name='mmpretrain-minigpt4',
    version='0.1.0',
    description='MiniGPT-4 as a first-class mmpretrain / MMEngine model',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['mmpretrain_minigpt4', 'mmpretrain_minigpt4.*']),
    py_modules=['mmpretrain_minigpt4_autoload'],
    cmdclass={'build_py': BuildWithShippedFiles},
    install_requires=[
        # 2.6: the safe unpickler's allow-list by name (safe_checkpoint_loading).
        'torch>=2.6',
        'mmengine==0.10.7',
        'mmcv-lite>=2.0.0,<2.4.0',
        'mmpretrain==1.2.0',
        'transformers>=4.50',
        # MiniGPT-v2's LoRA (inject_adapter_in_model; fp32 factors on an fp16 LLM since 0.12).
        'peft>=0.12',
        'timm>=1.0',
        'safetensors',
        'tqdm',
        'sentencepiece',
        'protobuf',
        'pycocotools',
        'pycocoevalcap',
    ],
    extras_require={
        'tests': [
            'pytest',
            # The real Llama-2 tokenizer.json (tests and tiny configs) and real photos.
            'wordllama',
            'scikit-image',
            # The web demo in a real browser (Debian's chromium, see .ci/run) and
            # the server through the real OpenAI client.
            'gradio>=6',
            'playwright',
            'fastapi',
            'uvicorn',
            'openai',
            # The 8 / 4-bit LLM (its CPU backend runs the tiny model's tests).
            'bitsandbytes>=0.46',
        ],
        # The tiny configs' tokenizer (the quick start's only extra need).
        'tiny': ['wordllama'],
        'demo': ['gradio>=6'],
        'serve': ['fastapi', 'uvicorn', 'httpx'],
        # model.llm.quantization='8bit' / '4bit' (the official low_resource).
        'quantization': ['bitsandbytes>=0.46'],
        # DeepSpeedStrategy configs (*_deepspeed-zero2/3.py); FSDP needs nothing extra.
        'deepspeed': ['deepspeed>=0.13.2'],
    },
)
