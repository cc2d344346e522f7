"""Reference for converted checkpoints: tiny configs, official tensors put into modules by hand."""
import torch
from conftest import TINY_MODEL_CONFIG, real_photo
from mmengine.config import Config

# The tiny model as the Llama-2 / v2 variant: no Q-Former, 4 tokens merged.
LLAMA2_VARIANT = dict(
    neck=None,
    head=dict(_delete_=True, type='TokenMergeProjectionHead', in_channels=32, out_channels=64,
              num_merged_tokens=4))


def tiny_model_cfg(**overrides) -> dict:
    """The tiny config's ``model``, ``overrides`` merged in."""
    cfg = Config.fromfile(TINY_MODEL_CONFIG)
    cfg.merge_from_dict(dict(model=overrides))
    return cfg.model.to_dict()


def photo_batch(size: int = 224) -> torch.Tensor:
    """A real photo, resized and CLIP-normalised: (1, 3, size, size)."""
    image = torch.from_numpy(real_photo('chelsea')).permute(2, 0, 1)[None].float()
    image = torch.nn.functional.interpolate(image, size=(size, size), mode='bicubic')
    mean = torch.tensor([122.77, 116.75, 104.09]).view(1, 3, 1, 1)
    std = torch.tensor([68.50, 66.63, 70.32]).view(1, 3, 1, 1)
    return (image - mean) / std


@torch.no_grad()
def assign_by_hand(model, eva: dict, blip2: dict, projection: dict) -> None:
    """The official tensors copied into the plugin's modules one by one.

    ``blip2=None``: the Llama-2 variant (no Q-Former, default ln_vision).
    """
    vit = model.vision_encoder
    vit.cls_token.copy_(eva['cls_token'])
    vit.pos_embed.copy_(eva['pos_embed'])
    vit.patch_embed.proj.weight.copy_(eva['patch_embed.proj.weight'])
    vit.patch_embed.proj.bias.copy_(eva['patch_embed.proj.bias'])
    for i, block in enumerate(vit.blocks):
        for name, param in [('norm1.weight', block.norm1.weight), ('norm1.bias', block.norm1.bias),
                            ('attn.q_bias', block.attn.q_bias), ('attn.v_bias', block.attn.v_bias),
                            ('attn.qkv.weight', block.attn.qkv.weight),
                            ('attn.proj.weight', block.attn.proj.weight),
                            ('attn.proj.bias', block.attn.proj.bias),
                            ('norm2.weight', block.norm2.weight), ('norm2.bias', block.norm2.bias),
                            ('mlp.fc1.weight', block.mlp.fc1.weight),
                            ('mlp.fc1.bias', block.mlp.fc1.bias),
                            ('mlp.fc2.weight', block.mlp.fc2.weight),
                            ('mlp.fc2.bias', block.mlp.fc2.bias)]:
            param.copy_(eva[f'blocks.{i}.{name}'])
    head = model.head.proj
    head.weight.copy_(projection['llama_proj.weight'])
    head.bias.copy_(projection['llama_proj.bias'])
    if blip2 is None:
        return
    model.ln_vision.weight.copy_(blip2['ln_vision.weight'])
    model.ln_vision.bias.copy_(blip2['ln_vision.bias'])
    model.neck.query_tokens.copy_(blip2['query_tokens'])
    qformer = model.neck.qformer
    qformer.layernorm.weight.copy_(blip2['Qformer.bert.embeddings.LayerNorm.weight'])
    qformer.layernorm.bias.copy_(blip2['Qformer.bert.embeddings.LayerNorm.bias'])
    for i, layer in enumerate(qformer.encoder.layer):
        modules = {
            'attention.self.query': layer.attention.attention.query,
            'attention.self.key': layer.attention.attention.key,
            'attention.self.value': layer.attention.attention.value,
            'attention.output.dense': layer.attention.output.dense,
            'attention.output.LayerNorm': layer.attention.output.LayerNorm,
            'intermediate_query.dense': layer.intermediate_query.dense,
            'output_query.dense': layer.output_query.dense,
            'output_query.LayerNorm': layer.output_query.LayerNorm,
        }
        if i % 2 == 0:
            modules.update({
                'crossattention.self.query': layer.crossattention.attention.query,
                'crossattention.self.key': layer.crossattention.attention.key,
                'crossattention.self.value': layer.crossattention.attention.value,
                'crossattention.output.dense': layer.crossattention.output.dense,
                'crossattention.output.LayerNorm': layer.crossattention.output.LayerNorm,
            })
        for name, module in modules.items():
            module.weight.copy_(blip2[f'Qformer.bert.encoder.layer.{i}.{name}.weight'])
            module.bias.copy_(blip2[f'Qformer.bert.encoder.layer.{i}.{name}.bias'])
