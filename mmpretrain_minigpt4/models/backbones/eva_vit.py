"""EVA ViT-g/14 as BLIP-2 and MiniGPT-4 use it, on timm's ``Eva``."""
from functools import partial

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from timm.models.eva import Eva
from torch import nn


@MODELS.register_module()
class EVAViT(Eva):
    """EVA ViT returning every token (CLS first) of its last block, no final norm.

    Defaults are MiniGPT-4's ViT-g/14: EVA-CLIP-g without its 40th block
    (BLIP-2 uses the second-to-last layer), 1408 dims, 16 heads, MLP 6144,
    q/v biases with a zero k bias, LayerNorm eps 1e-6, absolute position
    embedding. Attention is timm's fused SDPA path. Parameter names equal the
    official ``eva_vit_g.pth`` keys.

    A checkpoint whose ``pos_embed`` has another grid is resized on load
    (bicubic, fp32, CLS kept), as the official loader does for 448-px models.

    Args:
        img_size (int): Input size. Defaults to 224.
        patch_size (int): Patch size. Defaults to 14.
        embed_dims (int): Token width. Defaults to 1408.
        num_layers (int): Blocks built. Defaults to 39.
        num_heads (int): Attention heads. Defaults to 16.
        mlp_ratio (float): MLP width / ``embed_dims``; the official 4.3637 gives
            ``int(1408 * 4.3637) = 6144``. Defaults to 4.3637.
        layer_norm_eps (float): Block LayerNorm eps. Defaults to 1e-6.
        drop_path_rate (float): Stochastic depth. Defaults to 0.
    """

    def __init__(self,
                 img_size: int = 224,
                 patch_size: int = 14,
                 embed_dims: int = 1408,
                 num_layers: int = 39,
                 num_heads: int = 16,
                 mlp_ratio: float = 4.3637,
                 layer_norm_eps: float = 1e-6,
                 drop_path_rate: float = 0.):
        super().__init__(
            img_size=img_size,
            patch_size=patch_size,
            num_classes=0,
            global_pool='',
            embed_dim=embed_dims,
            depth=num_layers,
            num_heads=num_heads,
            qkv_bias=True,
            qkv_fused=True,
            mlp_ratio=mlp_ratio,
            norm_layer=partial(nn.LayerNorm, eps=layer_norm_eps),
            use_abs_pos_emb=True,
            use_rot_pos_emb=False,
            use_post_transformer_norm=False,
            use_fc_norm=False,
            drop_path_rate=drop_path_rate)
        # timm initialised the weights above. MMEngine's BaseModule.init_weights
        # (which the Runner calls before training) skips children marked as
        # initialised; without this it would re-run timm's init and wipe weights
        # loaded since the model was built.
        self.is_init = True

    @property
    def img_size(self) -> tuple:
        return tuple(self.patch_embed.img_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, H, W) -> tokens (B, 1 + H*W/patch**2, embed_dims)."""
        return self.forward_features(images)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + 'pos_embed'
        if key in state_dict and state_dict[key].shape != self.pos_embed.shape:
            state_dict[key] = interpolate_pos_embed(state_dict[key], self.pos_embed.shape[1] - 1)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def interpolate_pos_embed(pos_embed: torch.Tensor, num_patches: int) -> torch.Tensor:
    """Resize ``pos_embed`` (1, 1 + n*n, C) to (1, 1 + num_patches, C), CLS kept.

    Bicubic, ``align_corners=False``, in fp32, as the official
    ``interpolate_pos_embed`` (the result is cast back to the input dtype).
    """
    old_side = int((pos_embed.shape[1] - 1)**0.5)
    new_side = int(num_patches**0.5)
    if old_side**2 + 1 != pos_embed.shape[1] or new_side**2 != num_patches:
        raise ValueError(f'pos_embed of shape {tuple(pos_embed.shape)} cannot be resized to '
                         f'{num_patches} patches: both grids must be square.')
    cls_token, patches = pos_embed[:, :1], pos_embed[:, 1:]
    channels = patches.shape[-1]
    patches = patches.float().reshape(1, old_side, old_side, channels).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, size=(new_side, new_side), mode='bicubic', align_corners=False)
    patches = patches.permute(0, 2, 3, 1).reshape(1, num_patches, channels)
    return torch.cat([cls_token.float(), patches], dim=1).to(pos_embed.dtype)
