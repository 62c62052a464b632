"""DynamiCrafter 3D UNet (spec §2.1) with the ControlledUnetModel residual hook (fixture (j))."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import GroupNorm32, SpatialTransformer, TemporalTransformer, timestep_embedding


class TemporalConvBlock(nn.Module):
    """Four [GN(32, 1e-5, stats over T) → SiLU → Conv3d (3,1,1)] stages with a residual (key sic)."""

    def __init__(self, c):
        super().__init__()
        conv = lambda: nn.Conv3d(c, c, (3, 1, 1), padding=(1, 0, 0))
        self.conv1 = nn.Sequential(nn.GroupNorm(32, c), nn.SiLU(), conv())
        self.conv2 = nn.Sequential(nn.GroupNorm(32, c), nn.SiLU(), nn.Dropout(0.0), conv())
        self.conv3 = nn.Sequential(nn.GroupNorm(32, c), nn.SiLU(), nn.Dropout(0.0), conv())
        self.conv4 = nn.Sequential(nn.GroupNorm(32, c), nn.SiLU(), nn.Dropout(0.0), conv())

    def forward(self, x):
        return x + self.conv4(self.conv3(self.conv2(self.conv1(x))))


class ResBlock(nn.Module):
    """Spec §2.1.3. `temporal=False` gives the plain SD ResBlock the ControlNet uses."""

    def __init__(self, cin, emb_dim, cout, temporal=True, dropout=0.0):
        super().__init__()
        self.in_layers = nn.Sequential(GroupNorm32(32, cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, cout))
        self.out_layers = nn.Sequential(GroupNorm32(32, cout), nn.SiLU(), nn.Dropout(dropout), nn.Conv2d(cout, cout, 3, padding=1))
        self.skip_connection = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)
        self.temporal = temporal
        if temporal:
            self.temopral_conv = TemporalConvBlock(cout)  # sic: the checkpoint's key (Q14)

    def forward(self, x, emb, batch):
        h = self.in_layers(x)
        h = h + self.emb_layers(emb).to(h.dtype)[:, :, None, None]
        h = self.skip_connection(x) + self.out_layers(h)
        if self.temporal:
            bt, c, hh, ww = h.shape
            u = h.reshape(batch, bt // batch, c, hh, ww).transpose(1, 2)
            h = self.temopral_conv(u).transpose(1, 2).reshape(bt, c, hh, ww)
        return h


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.op = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class EmbedSequential(nn.Sequential):
    """Routes emb / context / batch to the layers that take them (TimestepEmbedSequential)."""

    def forward(self, x, emb, context, batch):
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb, batch)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            elif isinstance(layer, TemporalTransformer):
                x = layer(x, batch)
            else:
                x = layer(x)
        return x


def heads_for(ch, num_head_channels):
    return ch // num_head_channels, num_head_channels


class UNetModel(nn.Module):
    """Built from the `unet_config.params` dict of the checkpoint config."""

    def __init__(self, p: dict):
        super().__init__()
        mc, hc = p["model_channels"], p["num_head_channels"]
        self.model_channels = mc
        self.temporal_length = p.get("temporal_length", 16)
        ctx = p["context_dim"]
        attn_res = set(p["attention_resolutions"])
        nrb, mult = p["num_res_blocks"], p["channel_mult"]
        ted = mc * 4
        temporal_conv = p.get("temporal_conv", True)
        temporal_attention = p.get("temporal_attention", True)
        image_xattn = p.get("image_cross_attention", False)
        assert p.get("temporal_selfatt_only", True) and p.get("use_linear", True)
        self.time_embed = nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))
        self.fs_condition = p.get("fs_condition", False)
        self.default_fs = p.get("default_fs", 24)
        if self.fs_condition:
            self.fps_embedding = nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))

        def attn_layers(ch):
            heads, dh = heads_for(ch, hc)
            layers = [SpatialTransformer(ch, heads, dh, ctx, image_xattn)]
            if temporal_attention:
                layers.append(TemporalTransformer(ch, heads, dh))
            return layers

        self.input_blocks = nn.ModuleList([EmbedSequential(nn.Conv2d(p["in_channels"], mc, 3, padding=1))])
        self.addition_attention = p.get("addition_attention", False)
        if self.addition_attention:
            self.init_attn = EmbedSequential(TemporalTransformer(mc, 8, hc, linear=False))
        chans, ch, ds = [mc], mc, 1
        for level, m in enumerate(mult):
            for _ in range(nrb):
                layers = [ResBlock(ch, ted, m * mc, temporal_conv)]
                ch = m * mc
                if ds in attn_res:
                    layers += attn_layers(ch)
                self.input_blocks.append(EmbedSequential(*layers))
                chans.append(ch)
            if level != len(mult) - 1:
                self.input_blocks.append(EmbedSequential(Downsample(ch)))
                chans.append(ch)
                ds *= 2
        self.middle_block = EmbedSequential(
            ResBlock(ch, ted, ch, temporal_conv), *attn_layers(ch), ResBlock(ch, ted, ch, temporal_conv)
        )
        self.output_blocks = nn.ModuleList()
        for level, m in list(enumerate(mult))[::-1]:
            for i in range(nrb + 1):
                layers = [ResBlock(ch + chans.pop(), ted, m * mc, temporal_conv)]
                ch = m * mc
                if ds in attn_res:
                    layers += attn_layers(ch)
                if level and i == nrb:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(EmbedSequential(*layers))
        self.out = nn.Sequential(GroupNorm32(32, ch), nn.SiLU(), nn.Conv2d(mc, p["out_channels"], 3, padding=1))

    def forward(self, x, timesteps, context, fs=None, control=None, debug=None):
        """x (b, c_in, t, h, w); context (b, L, D); control: 13 residuals (already scaled) or None."""
        b, _, t, h, w = x.shape
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels).to(x.dtype))
        if debug is not None:
            debug["time_embed"] = emb
        L = context.shape[1]
        if L == 77 + 16 * t:  # hard-coded per-frame image tokens (Q4)
            text = context[:, :77].repeat_interleave(t, dim=0)
            img = context[:, 77:].reshape(b * t, 16, context.shape[2])
            context = torch.cat([text, img], dim=1)
        else:
            context = context.repeat_interleave(t, dim=0)
        emb = emb.repeat_interleave(t, dim=0)
        if self.fs_condition:
            if fs is None:
                fs = torch.full((b,), self.default_fs, dtype=torch.long, device=x.device)
            fse = self.fps_embedding(timestep_embedding(fs, self.model_channels).to(x.dtype))
            if debug is not None:
                debug["fps_embedding"] = fse
            emb = emb + fse.repeat_interleave(t, dim=0)
        hcur = x.transpose(1, 2).reshape(b * t, x.shape[1], h, w)
        hs = []
        for i, block in enumerate(self.input_blocks):
            hcur = block(hcur, emb, context, b)
            if debug is not None:
                debug[f"input_blocks.{i}"] = hcur
            if i == 0 and self.addition_attention:
                hcur = self.init_attn(hcur, emb, context, b)
                if debug is not None:
                    debug["init_attn"] = hcur
            hs.append(hcur)
        hcur = self.middle_block(hcur, emb, context, b)
        if debug is not None:
            debug["middle_block"] = hcur
        if control is not None:
            hcur = hcur + control[-1]
        for k, block in enumerate(self.output_blocks):
            skip = hs.pop()
            if control is not None:
                skip = skip + control[len(hs)]
            hcur = block(torch.cat([hcur, skip], dim=1), emb, context, b)
            if debug is not None:
                debug[f"output_blocks.{k}"] = hcur
        y = self.out(hcur)
        return y.reshape(b, t, -1, h, w).transpose(1, 2)
