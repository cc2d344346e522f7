"""Install the MiniGPT-4 plugin for mmpretrain / MMEngine."""
from setuptools import find_packages, setup

setup(
    name='mmpretrain-minigpt4',
    version='0.1.0',
    description='MiniGPT-4 as a first-class mmpretrain / MMEngine model',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['mmpretrain_minigpt4', 'mmpretrain_minigpt4.*']),
    install_requires=[
        'torch>=2.1',
        'mmengine==0.10.7',
        'mmcv-lite>=2.0.0,<2.4.0',
        'mmpretrain==1.2.0',
        'transformers>=4.50',
        'timm>=1.0',
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
        ],
    },
)
