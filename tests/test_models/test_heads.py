import pytest
import torch

from mmpretrain_minigpt4.models.heads import LinearProjectionHead, TokenMergeProjectionHead


def test_token_merge_concatenates_four_consecutive_raster_tokens():
    head = TokenMergeProjectionHead(in_channels=2, out_channels=3, num_merged_tokens=4)
    with torch.no_grad():
        head.proj.weight.zero_()
        head.proj.bias.zero_()
        head.proj.weight[0, 4] = 1.  # output 0 = channel 0 of the 3rd merged patch
    # CLS + an 8x8 grid; token value = its raster index, both channels.
    patches = torch.arange(64, dtype=torch.float32).repeat_interleave(2).reshape(1, 64, 2)
    tokens = torch.cat([torch.full((1, 1, 2), -1.), patches], dim=1)
    out = head(tokens)
    assert out.shape == (1, 16, 3)
    # Merged token j holds patches 4j..4j+3: a 1x4 horizontal strip, CLS dropped.
    assert out[0, :, 0].tolist() == [4. * j + 2 for j in range(16)]


def test_token_merge_needs_whole_groups():
    head = TokenMergeProjectionHead(in_channels=2, out_channels=3, num_merged_tokens=4)
    with pytest.raises(ValueError, match='groups of 4'):
        head(torch.zeros(1, 1 + 6, 2))


def test_linear_projection_shape():
    assert LinearProjectionHead(8, 16)(torch.zeros(2, 32, 8)).shape == (2, 32, 16)
