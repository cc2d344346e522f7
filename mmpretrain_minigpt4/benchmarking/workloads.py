"""The benchmark's workloads, run the same way on our ``MiniGPT4`` and on the peer.

Each runner exposes the four measured operations (encode, train step,
captioning, VQA) on identical inputs; only the calls into each model differ.
"""
import contextlib
from typing import Callable, Iterator, List, Sequence

import torch
from mmpretrain.structures import DataSample

from ..conversation import build_instruction_prompt
from .peer import peer_training_samples

# Long enough for any answer length the benchmark asks for (it is repeated).
ANSWER_TEXT = (
    'The image shows a busy street market on a sunny afternoon. Stalls with striped awnings line '
    'both sides of the road, selling fresh fruit, vegetables, flowers and spices. In the '
    'foreground a woman in a red coat is choosing oranges while a small dog waits beside her. '
    'Further back, a cyclist weaves between shoppers carrying paper bags, and an old stone '
    'church with a clock tower rises above the rooftops. The light is warm and the shadows are '
    'long, which suggests it is late in the day. ')

# Eight VQA questions of clearly different token lengths.
VQA_QUESTIONS = (
    'What is this?',
    'How many people are there?',
    'What colour is the coat of the woman?',
    'Is the dog sitting next to the woman or running away from her?',
    'What is the weather like?',
    'Which building rises above the rooftops in the background of the picture, and what is on it?',
    'Why?',
    'What kind of goods are sold at the stalls that line both sides of the busy road?',
)


def text_of_tokens(tokenizer, num_tokens: int) -> str:
    """An English answer of about ``num_tokens`` tokens (exactly that many before re-encoding)."""
    ids = []
    while len(ids) < num_tokens:
        ids += tokenizer.encode(ANSWER_TEXT)
    return tokenizer.decode(ids[:num_tokens])


def random_images(batch_size: int, img_size: Sequence[int], device, dtype, seed: int = 0):
    """Normalised-looking images (B, 3, H, W): timing does not depend on the pixels."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch_size, 3, *img_size, generator=generator)
    return images.to(device=device, dtype=dtype)


class WorkloadRunner:
    """What both runners share: the model, an AdamW on its trainable parameters, the train step."""

    def __init__(self, model):
        self.model = model
        self.optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                           lr=1e-5)

    def train_step(self, images, samples):
        """Loss, backward and optimizer step; returns the loss."""
        self.model.train()
        loss = self.model(images, samples, mode='loss')['loss']
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss


class OursRunner(WorkloadRunner):
    """The workloads on our ``MiniGPT4``."""

    name = 'ours'

    @property
    def llm(self):
        return self.model.llm

    def encode(self, images):
        with torch.no_grad():
            return self.model.extract_image_tokens(images)

    def training_samples(self, prompt: str, answers: List[str], paths: List[str]):
        return [DataSample(prompt=prompt, answer=a, img_path=p) for a, p in zip(answers, paths)]

    def training_prompt(self) -> str:
        """The stage-2 training prompt of the caption instruction."""
        return build_instruction_prompt(self.model.template, self.model.caption_instruction)

    def caption_prompt(self) -> str:
        """The prediction prompt of the caption instruction (MiniGPT-v2's differs from
        its training prompt)."""
        return self.model.prediction_prompt(DataSample())

    def caption(self, images, prompt: str, new_tokens: int):
        self.model.eval()
        self.model.generation_cfg = greedy(new_tokens)
        samples = [DataSample(prompt=prompt) for _ in range(images.shape[0])]
        return [s.pred_caption for s in self.model(images, samples, mode='predict')]

    def vqa(self, images, questions: Sequence[str], new_tokens: int, batch_size: int):
        """Answers in batches of ``batch_size`` (the model pads each batch on the left)."""
        self.model.eval()
        self.model.generation_cfg = greedy(new_tokens)
        answers = []
        for start in range(0, len(questions), batch_size):
            samples = [DataSample(question=q) for q in questions[start:start + batch_size]]
            predicted = self.model(images[start:start + batch_size], samples, mode='predict')
            answers += [s.pred_answer for s in predicted]
        return answers

    @contextlib.contextmanager
    def cached_features_of(self, images, samples) -> Iterator[None]:
        """The frozen-feature cache on, already holding the features of ``images``."""
        with switched_on(self.model.set_frozen_feature_cache):
            with torch.no_grad():
                self.model.extract_image_tokens(images, samples)
            yield


class PeerRunner(WorkloadRunner):
    """The same workloads on mmpretrain 1.2's ``MiniGPT4``, called as its own code expects."""

    name = 'peer'

    def __init__(self, model, answer_mark: str = '###Answer: '):
        super().__init__(model)
        self.answer_mark = answer_mark

    @property
    def llm(self):
        return self.model.llama_model

    def encode(self, images):
        with torch.no_grad():
            return self.model.encode_img(images)[0]

    def training_samples(self, prompt: str, answers: List[str], paths: List[str]):
        if prompt:  # the peer's loss splits the text at its own answer mark
            prompt = prompt.rsplit('###', 1)[0] + self.answer_mark
        return peer_training_samples([prompt] * len(answers), answers, self.answer_mark)

    def caption(self, images, prompt: str, new_tokens: int):
        self.model.eval()
        self.model.generation_cfg = greedy(new_tokens)
        # The peer prepends BOS itself and draws its prompt from this list.
        self.model.en_prompt_list = [prompt]
        samples = [DataSample() for _ in range(images.shape[0])]
        return [s.pred_caption for s in self.model(images, samples, mode='predict')]

    def vqa(self, images, prompts: Sequence[str], new_tokens: int):
        """One question at a time: the peer's batches are wrong with mixed prompt lengths."""
        return [self.caption(images[i:i + 1], prompt, new_tokens)[0]
                for i, prompt in enumerate(prompts)]


@contextlib.contextmanager
def switched_on(switch: Callable[[bool], None]) -> Iterator[None]:
    """A model switch (``model.set_llm_gradient_checkpointing``, ...) on within the block."""
    switch(True)
    try:
        yield
    finally:
        switch(False)


def greedy(new_tokens: int) -> dict:
    """Greedy decoding of exactly ``new_tokens`` unless a stop string comes first."""
    return dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, num_beams=1,
                do_sample=False)
