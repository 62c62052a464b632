"""Shared blocks: embeddings, norms, attention and the transformer blocks of the UNet (spec §2.1)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Spec §4.4: [cos(t·f_i), sin(t·f_i)], f_i = exp(-ln(10000)·i/half); cos first; float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.promote_types(x.dtype, torch.float32)


class GroupNorm32(nn.GroupNorm):
    """GroupNorm evaluated in (at least) float32 and cast back, as the reference's GroupNorm32."""

    def forward(self, x):
        return super().forward(x.to(compute_dtype(x))).to(x.dtype)


def attention(q, k, v, heads: int, scale: float | None = None) -> torch.Tensor:
    """(b, n, heads·d) × (b, m, heads·d) → (b, n, heads·d); heads split head-major from channels."""
    b, n, inner = q.shape
    d = inner // heads
    q, k, v = (x.reshape(b, x.shape[1], heads, d).transpose(1, 2) for x in (q, k, v))
    o = F.scaled_dot_product_attention(q, k, v, scale=d ** -0.5 if scale is None else scale)
    return o.transpose(1, 2).reshape(b, n, inner)


class CrossAttention(nn.Module):
    """q/k/v without bias, to_out with bias. With `image_context_len`-style splitting (UNet attn2):
    text and image keys get separate softmaxes whose outputs are summed (spec §2.1.6)."""

    def __init__(self, query_dim, context_dim=None, heads=8, dim_head=64, image_cross_attention=False, text_context_len=77):
        super().__init__()
        inner = heads * dim_head
        context_dim = context_dim or query_dim
        self.heads, self.text_context_len = heads, text_context_len
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(0.0))
        self.image_cross_attention = image_cross_attention
        if image_cross_attention:
            self.to_k_ip = nn.Linear(context_dim, inner, bias=False)
            self.to_v_ip = nn.Linear(context_dim, inner, bias=False)

    def forward(self, x, context=None):
        q = self.to_q(x)
        if context is None:
            return self.to_out(attention(q, self.to_k(x), self.to_v(x), self.heads))
        if self.image_cross_attention:
            txt, img = context[:, : self.text_context_len], context[:, self.text_context_len :]
            out = attention(q, self.to_k(txt), self.to_v(txt), self.heads)
            out = out + attention(q, self.to_k_ip(img), self.to_v_ip(img), self.heads)
            return self.to_out(out)
        return self.to_out(attention(q, self.to_k(context), self.to_v(context), self.heads))


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        a, g = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(g)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim))

    def forward(self, x):
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    """x + attn1(LN x); x + attn2(LN x, ctx) (self-attention again when ctx is None); x + FF(LN x)."""

    def __init__(self, dim, heads, dim_head, context_dim=None, image_cross_attention=False):
        super().__init__()
        self.attn1 = CrossAttention(dim, None, heads, dim_head)
        self.ff = FeedForward(dim)
        self.attn2 = CrossAttention(dim, context_dim, heads, dim_head, image_cross_attention=image_cross_attention)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x, context=None):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class SpatialTransformer(nn.Module):
    """Spec §2.1.4 (use_linear): GN(eps 1e-6) → proj_in → block over h·w tokens → proj_out → + x."""

    def __init__(self, channels, heads, dim_head, context_dim, image_cross_attention=False):
        super().__init__()
        inner = heads * dim_head
        self.norm = nn.GroupNorm(32, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, inner)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, heads, dim_head, context_dim, image_cross_attention)]
        )
        self.proj_out = nn.Linear(inner, channels)

    def forward(self, x, context):
        n, c, h, w = x.shape
        y = self.norm(x).permute(0, 2, 3, 1).reshape(n, h * w, c)
        y = self.proj_in(y)
        for blk in self.transformer_blocks:
            y = blk(y, context)
        y = self.proj_out(y)
        return y.reshape(n, h, w, -1).permute(0, 3, 1, 2) + x


class TemporalTransformer(nn.Module):
    """Spec §2.1.5: self-attention over frames at every pixel; GN(eps 1e-6) with stats over all T.
    `linear=False` is init_attn's Conv1d (kernel 1) projection (Q15)."""

    def __init__(self, channels, heads, dim_head, linear=True):
        super().__init__()
        inner = heads * dim_head
        self.linear = linear
        self.norm = nn.GroupNorm(32, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, inner) if linear else nn.Conv1d(channels, inner, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(inner, heads, dim_head, None)])
        self.proj_out = nn.Linear(inner, channels) if linear else nn.Conv1d(inner, channels, 1)

    def forward(self, x, batch):
        # x: (b t) c h w
        bt, c, h, w = x.shape
        t = bt // batch
        x5 = x.reshape(batch, t, c, h, w).permute(0, 2, 1, 3, 4)  # b c t h w
        y = self.norm(x5).permute(0, 3, 4, 2, 1).reshape(batch * h * w, t, c)  # (b h w) t c
        y = self._project(self.proj_in, y)
        for blk in self.transformer_blocks:
            y = blk(y)
        y = self._project(self.proj_out, y)
        y = y.reshape(batch, h, w, t, c).permute(0, 3, 4, 1, 2)  # b t c h w
        return y.reshape(bt, c, h, w) + x

    def _project(self, proj, y):
        if self.linear:
            return proj(y)
        return proj(y.transpose(1, 2)).transpose(1, 2)
