"""AutoencoderKL_Dualref: 2-D encoder with 5 hidden-state taps, dual-reference VideoDecoder (spec §2.2–2.3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import GroupNorm32, attention


def Normalize(c):
    return nn.GroupNorm(32, c, eps=1e-6)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = Normalize(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = Normalize(cout), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class AttnBlock(nn.Module):
    """Single-head spatial self-attention with 1×1 conv projections (scale C^-1/2)."""

    def __init__(self, c):
        super().__init__()
        self.norm = Normalize(c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        n, c, h, w = x.shape
        y = self.norm(x)
        tok = lambda conv: conv(y).reshape(n, c, h * w).transpose(1, 2)
        o = attention(tok(self.q), tok(self.k), tok(self.v), heads=1)
        return x + self.proj_out(o.transpose(1, 2).reshape(n, c, h, w))


class Downsample(nn.Module):
    """Asymmetric: zero-pad right/bottom by 1, then 3×3 stride-2 conv without padding (Q20)."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    def __init__(self, dd):
        super().__init__()
        ch, mult, nrb = dd["ch"], dd["ch_mult"], dd["num_res_blocks"]
        assert not dd.get("attn_resolutions"), "attention inside encoder levels is not used by ToonCrafter"
        self.conv_in = nn.Conv2d(dd["in_channels"], ch, 3, padding=1)
        self.down = nn.ModuleList()
        cin = ch
        for i, m in enumerate(mult):
            lvl = nn.Module()
            lvl.block = nn.ModuleList()
            for _ in range(nrb):
                lvl.block.append(ResnetBlock(cin, ch * m))
                cin = ch * m
            lvl.attn = nn.ModuleList()
            if i != len(mult) - 1:
                lvl.downsample = Downsample(cin)
            self.down.append(lvl)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = ResnetBlock(cin, cin), AttnBlock(cin), ResnetBlock(cin, cin)
        self.norm_out = Normalize(cin)
        zc = dd["z_channels"] * (2 if dd.get("double_z", True) else 1)
        self.conv_out = nn.Conv2d(cin, zc, 3, padding=1)

    def forward(self, x):
        """Returns (h, hidden) with hidden = [level 0..L-1 outputs, conv_in output] (spec §1.3)."""
        first = self.conv_in(x)
        h, hidden = first, []
        for i, lvl in enumerate(self.down):
            for blk in lvl.block:
                h = blk(h)
            hidden.append(h)
            if hasattr(lvl, "downsample"):
                h = lvl.downsample(h)
        hidden.append(first)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h))), hidden


class TimeStack(nn.Module):
    """SVD-style 3-D ResBlock without time embedding: GN(1e-5, stats over T) → SiLU → Conv3d (3,1,1), twice."""

    def __init__(self, c):
        super().__init__()
        conv = lambda: nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0))
        self.in_layers = nn.Sequential(GroupNorm32(32, c), nn.SiLU(), conv())
        self.out_layers = nn.Sequential(GroupNorm32(32, c), nn.SiLU(), nn.Dropout(0.0), conv())

    def forward(self, x):
        return x + self.out_layers(self.in_layers(x))


class VideoResBlock(ResnetBlock):
    def __init__(self, cin, cout):
        super().__init__(cin, cout)
        self.time_stack = TimeStack(cout)
        self.mix_factor = nn.Parameter(torch.zeros(1))

    def forward(self, x, timesteps):
        y = super().forward(x)
        bt, c, h, w = y.shape
        y5 = y.reshape(bt // timesteps, timesteps, c, h, w).transpose(1, 2)
        a = torch.sigmoid(self.mix_factor)
        u = a * self.time_stack(y5) + (1.0 - a) * y5
        return u.transpose(1, 2).reshape(bt, c, h, w)


class Fusion(nn.Module):
    """Cross-attention from every frame to the un-normalised tokens of BOTH reference frames
    (first frame's tokens first); 8 heads × 64 whatever the width (spec §2.3)."""

    def __init__(self, c, heads=8, dim_head=64):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.to_q = nn.Linear(c, inner, bias=False)
        self.to_k = nn.Linear(c, inner, bias=False)
        self.to_v = nn.Linear(c, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, c), nn.Dropout(0.0))
        self.norm = Normalize(c)

    def forward(self, x, ref):
        bt, c, h, w = x.shape
        b = ref.shape[0]
        q = self.to_q(self.norm(x).reshape(bt, c, h * w).transpose(1, 2))
        r = ref.permute(0, 2, 3, 4, 1).reshape(b, 2 * ref.shape[3] * ref.shape[4], c)  # b (l h w) c
        k = self.to_k(r).repeat_interleave(bt // b, dim=0)
        v = self.to_v(r).repeat_interleave(bt // b, dim=0)
        o = self.to_out(attention(q, k, v, self.heads))
        return x + o.transpose(1, 2).reshape(bt, c, h, w)


class Combiner(nn.Module):
    """1×1 conv of the two reference features added to the chunk's first and last frame only."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 1)

    def forward(self, x, ref):
        bt, c, h, w = x.shape
        b = ref.shape[0]
        r = self.conv(ref.transpose(1, 2).reshape(b * 2, c, h, w)).reshape(b, 2, c, h, w)
        x5 = x.reshape(b, bt // b, c, h, w)
        add = torch.zeros_like(x5)
        add[:, 0] = r[:, 0]
        add[:, -1] = add[:, -1] + r[:, 1]
        return (x5 + add).reshape(bt, c, h, w)


class AE3DConv(nn.Conv2d):
    def __init__(self, cin, cout):
        super().__init__(cin, cout, 3, padding=1)
        self.time_mix_conv = nn.Conv3d(cout, cout, (3, 1, 1), padding=(1, 0, 0))

    def forward(self, x, timesteps):
        y = super().forward(x)
        bt, c, h, w = y.shape
        y5 = y.reshape(bt // timesteps, timesteps, c, h, w).transpose(1, 2)
        return self.time_mix_conv(y5).transpose(1, 2).reshape(bt, c, h, w)


class VideoDecoder(nn.Module):
    def __init__(self, dd, attn_level=(2, 3)):
        super().__init__()
        ch, mult, nrb = dd["ch"], dd["ch_mult"], dd["num_res_blocks"]
        n = len(mult)
        cin = ch * mult[-1]
        self.conv_in = nn.Conv2d(dd["z_channels"], cin, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = VideoResBlock(cin, cin), AttnBlock(cin), VideoResBlock(cin, cin)
        ups, refine = [None] * n, [None] * n
        for i in reversed(range(n)):
            up = nn.Module()
            up.block = nn.ModuleList()
            for _ in range(nrb + 1):
                up.block.append(VideoResBlock(cin, ch * mult[i]))
                cin = ch * mult[i]
            up.attn = nn.ModuleList()
            if i != 0:
                up.upsample = Upsample(cin)
            ups[i] = up
            refine[i] = Fusion(cin) if i in attn_level else Combiner(cin)
        self.up = nn.ModuleList(ups)
        self.attn_refinement = nn.ModuleList(refine + [Combiner(cin)])
        self.norm_out = Normalize(cin)
        self.conv_out = AE3DConv(cin, dd["out_ch"])

    def forward(self, z, refs, timesteps):
        """z ((b t), zc, h, w) already divided by the scale factor; refs: 5 tensors (b, C, 2, H, W)."""
        h = self.conv_in(z)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h, timesteps)), timesteps)
        for i in reversed(range(len(self.up))):
            for blk in self.up[i].block:
                h = blk(h, timesteps)
            h = self.attn_refinement[i](h, refs[i])
            if i != 0:
                h = self.up[i].upsample(h)
        h = F.silu(self.norm_out(h))
        h = self.attn_refinement[-1](h, refs[-1])
        return self.conv_out(h, timesteps)


class AutoencoderKLDualref(nn.Module):
    """first_stage_model: encoder, quant_conv, post_quant_conv (unused by the dual-ref path, Q1), decoder."""

    def __init__(self, params):
        super().__init__()
        dd = params["ddconfig"]
        e = params["embed_dim"]
        self.encoder = Encoder(dd)
        self.decoder = VideoDecoder(dd)
        self.quant_conv = nn.Conv2d(2 * dd["z_channels"], 2 * e, 1)
        self.post_quant_conv = nn.Conv2d(e, dd["z_channels"], 1)

    def encode(self, x):
        """x (n, 3, H, W) → moments (n, 2e, h, w), hidden states (5 tensors)."""
        h, hidden = self.encoder(x)
        return self.quant_conv(h), hidden

    @staticmethod
    def posterior(moments):
        mean, logvar = moments.chunk(2, dim=1)
        logvar = logvar.clamp(-30.0, 20.0)
        return mean, logvar, torch.exp(0.5 * logvar)

    def decode(self, z, refs, timesteps):
        return self.decoder(z, refs, timesteps)
