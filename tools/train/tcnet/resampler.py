"""image_proj_model: the Perceiver Resampler (spec §2.6)."""

from __future__ import annotations

import torch
from torch import nn


class PerceiverAttention(nn.Module):
    def __init__(self, dim, dim_head, heads):
        super().__init__()
        inner = dim_head * heads
        self.heads, self.dim_head = heads, dim_head
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x, latents):
        x, lat = self.norm1(x), self.norm2(latents)
        b, n, _ = lat.shape
        q = self.to_q(lat)
        k, v = self.to_kv(torch.cat([x, lat], dim=1)).chunk(2, dim=-1)
        split = lambda t: t.reshape(b, t.shape[1], self.heads, self.dim_head).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        s = self.dim_head ** -0.25  # d^-1/4 on both q and k
        w = (q * s) @ (k * s).transpose(-2, -1)
        w = torch.softmax(w.to(torch.promote_types(w.dtype, torch.float32)), dim=-1).to(w.dtype)
        return self.to_out((w @ v).transpose(1, 2).reshape(b, n, -1))


class Resampler(nn.Module):
    def __init__(self, p):
        super().__init__()
        dim, T = p["dim"], p.get("video_length", 1)
        nq = p["num_queries"] * (T or 1)
        self.latents = nn.Parameter(torch.randn(1, nq, dim) / dim**0.5)
        self.proj_in = nn.Linear(p["embedding_dim"], dim)
        self.proj_out = nn.Linear(dim, p["output_dim"])
        self.norm_out = nn.LayerNorm(p["output_dim"])
        inner = dim * p.get("ff_mult", 4)
        self.layers = nn.ModuleList(
            [
                nn.ModuleList(
                    [
                        PerceiverAttention(dim, p["dim_head"], p["heads"]),
                        nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, inner, bias=False), nn.GELU(), nn.Linear(inner, dim, bias=False)),
                    ]
                )
                for _ in range(p["depth"])
            ]
        )

    def forward(self, x):
        lat = self.latents.to(x.dtype).repeat(x.shape[0], 1, 1)
        x = self.proj_in(x)
        for attn, ff in self.layers:
            lat = attn(x, lat) + lat
            lat = ff(lat) + lat
        return self.norm_out(self.proj_out(lat))
