"""OpenCLIP-style towers as ToonCrafter uses them (spec §2.4, §2.5, §1.5) and the tokenizer."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import attention

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class MultiheadAttention(nn.Module):
    """nn.MultiheadAttention's parameters (packed in_proj q;k;v with bias, out_proj) and maths."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x, causal=False):
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        b, n, w = q.shape
        d = w // self.heads
        q, k, v = (t.reshape(b, n, self.heads, d).transpose(1, 2) for t in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=d ** -0.5)
        return self.out_proj(o.transpose(1, 2).reshape(b, n, w))


class Mlp(nn.Module):
    def __init__(self, width, ratio=4.0):
        super().__init__()
        self.c_fc = nn.Linear(width, int(width * ratio))
        self.c_proj = nn.Linear(int(width * ratio), width)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, mlp_ratio=4.0):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(width), MultiheadAttention(width, heads)
        self.ln_2, self.mlp = nn.LayerNorm(width), Mlp(width, mlp_ratio)

    def forward(self, x, causal=False):
        x = x + self.attn(self.ln_1(x), causal)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mlp_ratio=4.0):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, mlp_ratio) for _ in range(layers)])


class VisionTransformer(nn.Module):
    def __init__(self, vc, embed_dim):
        super().__init__()
        width, ps, size = vc["width"], vc["patch_size"], vc["image_size"]
        heads = width // vc.get("head_width", 64)
        self.conv1 = nn.Conv2d(3, width, ps, stride=ps, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((size // ps) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, vc["layers"], heads, vc.get("mlp_ratio", 4.0))
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed_dim))

    def tokens(self, x):
        """All tokens of the last block, no ln_post / proj (FrozenOpenCLIPImageEmbedderV2)."""
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).transpose(1, 2)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        for blk in self.transformer.resblocks:
            x = blk(x)
        return x

    def pooled(self, x):
        """The CLIP image embedding (class token → ln_post → proj); used only for pre-training."""
        return self.ln_post(self.tokens(x)[:, 0]) @ self.proj


class TextModel(nn.Module):
    """cond_stage_model.model: the text half of an open_clip CLIP."""

    def __init__(self, tc, embed_dim):
        super().__init__()
        width, n = tc["width"], tc.get("context_length", 77)
        self.token_embedding = nn.Embedding(tc.get("vocab_size", 49408), width)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(n, width))
        self.transformer = Transformer(width, tc["layers"], tc["heads"], tc.get("mlp_ratio", 4.0))
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(width ** -0.5 * torch.randn(width, embed_dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        nn.init.normal_(self.token_embedding.weight, std=0.02)

    def penultimate(self, tokens):
        """Spec §1.6: blocks 0..L-2 with a causal mask, then ln_final; all 77 positions (Q19)."""
        x = self.token_embedding(tokens) + self.positional_embedding
        for blk in self.transformer.resblocks[:-1]:
            x = blk(x, causal=True)
        return self.ln_final(x)

    def pooled(self, tokens):
        """CLIP text embedding (last block, ln_final, EOT token → projection); pre-training only."""
        x = self.token_embedding(tokens) + self.positional_embedding
        for blk in self.transformer.resblocks:
            x = blk(x, causal=True)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ self.text_projection


class TextEncoder(nn.Module):
    """cond_stage_model (FrozenOpenCLIPEmbedder, layer='penultimate')."""

    def __init__(self, arch):
        super().__init__()
        self.model = TextModel(arch["text_cfg"], arch["embed_dim"])

    def forward(self, tokens):
        return self.model.penultimate(tokens)


class VisionModel(nn.Module):
    def __init__(self, arch):
        super().__init__()
        self.visual = VisionTransformer(arch["vision_cfg"], arch["embed_dim"])


class ImageEmbedder(nn.Module):
    """embedder (FrozenOpenCLIPImageEmbedderV2): preprocess (squash to 224², §1.5) → tokens."""

    def __init__(self, arch):
        super().__init__()
        self.model = VisionModel(arch)
        self.image_size = arch["vision_cfg"]["image_size"]

    def forward(self, image):
        return self.model.visual.tokens(clip_preprocess(image, self.image_size))


def _gaussian(k, sigma, dtype):
    x = torch.arange(k, dtype=dtype) - k // 2
    if k % 2 == 0:
        x = x + 0.5
    g = torch.exp(-x.pow(2) / (2.0 * sigma**2))
    return g / g.sum()


def clip_preprocess(x, size=224):
    """kornia resize(bicubic, align_corners=True, antialias=True) to size², then CLIP normalisation."""
    H, W = x.shape[-2:]
    if (H, W) != (size, size):
        fy, fx = H / size, W / size
        if max(fy, fx) > 1:
            sy, sx = max((fy - 1) / 2, 0.001), max((fx - 1) / 2, 0.001)
            ky, kx = int(max(4 * sy, 3)), int(max(4 * sx, 3))
            ky, kx = ky + (ky % 2 == 0), kx + (kx % 2 == 0)
            c = x.shape[1]
            gy = _gaussian(ky, sy, x.dtype).to(x.device)
            gx = _gaussian(kx, sx, x.dtype).to(x.device)
            x = F.pad(x, (kx // 2, kx // 2, ky // 2, ky // 2), mode="reflect")
            x = F.conv2d(x, gy.view(1, 1, ky, 1).repeat(c, 1, 1, 1), groups=c)
            x = F.conv2d(x, gx.view(1, 1, 1, kx).repeat(c, 1, 1, 1), groups=c)
        x = F.interpolate(x, (size, size), mode="bicubic", align_corners=True)
    x = (x + 1.0) / 2.0
    mean = torch.tensor(CLIP_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def tokenize(texts, context_length=77):
    """open_clip's tokenizer (the real 49408-id BPE vocabulary); a tool dependency only."""
    import open_clip

    return open_clip.tokenize(list(texts), context_length=context_length)
