"""EVAViT (timm Eva) computes the official EVA ViT-g block math and loads resized pos-embeds."""
import torch
import torch.nn.functional as F

from mmpretrain_minigpt4.models.backbones import EVAViT, interpolate_pos_embed


def official_eva_forward(vit: EVAViT, images: torch.Tensor) -> torch.Tensor:
    """The LAVIS/MiniGPT-4 ``VisionTransformer.forward`` written out from the paper code's math."""
    proj = vit.patch_embed.proj
    x = F.conv2d(images, proj.weight, proj.bias, stride=proj.stride).flatten(2).transpose(1, 2)
    x = torch.cat([vit.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + vit.pos_embed
    for blk in vit.blocks:
        batch, tokens, channels = x.shape
        heads = blk.attn.num_heads
        h = F.layer_norm(x, (channels, ), blk.norm1.weight, blk.norm1.bias, 1e-6)
        bias = torch.cat([blk.attn.q_bias, torch.zeros_like(blk.attn.v_bias), blk.attn.v_bias])
        qkv = F.linear(h, blk.attn.qkv.weight, bias).reshape(batch, tokens, 3, heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        q = q * (channels // heads)**-0.5
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(batch, tokens, channels)
        x = x + blk.attn.proj(out)
        h = F.layer_norm(x, (channels, ), blk.norm2.weight, blk.norm2.bias, 1e-6)
        x = x + blk.mlp.fc2(F.gelu(blk.mlp.fc1(h)))
    return x


def test_matches_the_official_block_math():
    torch.manual_seed(0)
    vit = EVAViT(img_size=56, patch_size=14, embed_dims=48, num_layers=2, num_heads=4).eval()
    with torch.no_grad():
        for blk in vit.blocks:  # timm initialises the q/v biases to zero; exercise them
            blk.attn.q_bias.normal_()
            blk.attn.v_bias.normal_()
    images = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        out = vit(images)
    assert out.shape == (2, 1 + 16, 48)  # CLS kept, no final norm
    assert all(blk.attn.fused_attn for blk in vit.blocks)  # SDPA path
    torch.testing.assert_close(out, official_eva_forward(vit, images), atol=1e-5, rtol=1e-5)


def test_official_key_names_and_k_bias_not_saved():
    vit = EVAViT(img_size=28, patch_size=14, embed_dims=16, num_layers=1, num_heads=2)
    assert sorted(vit.state_dict()) == sorted([
        'cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias',
        'blocks.0.norm1.weight', 'blocks.0.norm1.bias', 'blocks.0.attn.q_bias',
        'blocks.0.attn.v_bias', 'blocks.0.attn.qkv.weight', 'blocks.0.attn.proj.weight',
        'blocks.0.attn.proj.bias', 'blocks.0.norm2.weight', 'blocks.0.norm2.bias',
        'blocks.0.mlp.fc1.weight', 'blocks.0.mlp.fc1.bias', 'blocks.0.mlp.fc2.weight',
        'blocks.0.mlp.fc2.bias'
    ])


def test_pos_embed_is_resized_bicubic_on_load():
    torch.manual_seed(0)
    small = EVAViT(img_size=28, patch_size=14, embed_dims=16, num_layers=1, num_heads=2)
    large = EVAViT(img_size=56, patch_size=14, embed_dims=16, num_layers=1, num_heads=2)
    large.load_state_dict(small.state_dict())
    pos = small.pos_embed.detach()
    grid = pos[:, 1:].reshape(1, 2, 2, 16).permute(0, 3, 1, 2)
    expected = F.interpolate(grid, size=(4, 4), mode='bicubic', align_corners=False)
    expected = torch.cat([pos[:, :1], expected.permute(0, 2, 3, 1).reshape(1, 16, 16)], dim=1)
    torch.testing.assert_close(large.pos_embed.detach(), expected)
    assert interpolate_pos_embed(pos.half(), 16).dtype == torch.float16
