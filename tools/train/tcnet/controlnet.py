"""The SD-2.1-style sketch ControlNet (sketch-and-colorize.md §1.2, fixture (i)); bare checkpoint keys."""

from __future__ import annotations

from torch import nn

from .layers import SpatialTransformer, timestep_embedding
from .unet import Downsample, EmbedSequential, ResBlock


def _zero_conv(c):
    return EmbedSequential(nn.Conv2d(c, c, 1))


class ControlNet(nn.Module):
    def __init__(self, p):
        super().__init__()
        mc, hc, ctx = p["model_channels"], p["num_head_channels"], p["context_dim"]
        attn_res, nrb, mult = set(p["attention_resolutions"]), p["num_res_blocks"], p["channel_mult"]
        ted = mc * 4
        self.model_channels = mc
        self.time_embed = nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))
        hint = p["hint_channels"]
        widths = [(hint, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 96, 2), (96, 96, 1), (96, 256, 2)]
        layers = []
        for cin, cout, s in widths:
            layers += [nn.Conv2d(cin, cout, 3, stride=s, padding=1), nn.SiLU()]
        layers.append(nn.Conv2d(256, mc, 3, padding=1))
        self.input_hint_block = EmbedSequential(*layers)
        self.input_blocks = nn.ModuleList([EmbedSequential(nn.Conv2d(p["in_channels"], mc, 3, padding=1))])
        self.zero_convs = nn.ModuleList([_zero_conv(mc)])
        ch, ds = mc, 1
        for level, m in enumerate(mult):
            for _ in range(nrb):
                blk = [ResBlock(ch, ted, m * mc, temporal=False)]
                ch = m * mc
                if ds in attn_res:
                    blk.append(SpatialTransformer(ch, ch // hc, hc, ctx))
                self.input_blocks.append(EmbedSequential(*blk))
                self.zero_convs.append(_zero_conv(ch))
            if level != len(mult) - 1:
                self.input_blocks.append(EmbedSequential(Downsample(ch)))
                self.zero_convs.append(_zero_conv(ch))
                ds *= 2
        self.middle_block = EmbedSequential(
            ResBlock(ch, ted, ch, temporal=False), SpatialTransformer(ch, ch // hc, hc, ctx), ResBlock(ch, ted, ch, temporal=False)
        )
        self.middle_block_out = _zero_conv(ch)

    def forward(self, x, hint, timesteps, context, guided_hint=None, debug=None):
        """x (N,4,h,w), hint (N,hc,8h,8w), timesteps (N,) one per frame, context (N,L,D) → 13 residuals."""
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels).to(x.dtype))
        if guided_hint is None:
            guided_hint = self.input_hint_block(hint, emb, context, 1)
        if debug is not None:
            debug["time_embed"], debug["guided_hint"] = emb, guided_hint
        outs, h = [], x
        for i, (blk, zc) in enumerate(zip(self.input_blocks, self.zero_convs)):
            h = blk(h, emb, context, 1)
            if i == 0:
                h = h + guided_hint
            if debug is not None:
                debug[f"zero_conv_in.{i}"] = h
            outs.append(zc(h, emb, context, 1))
        h = self.middle_block(h, emb, context, 1)
        if debug is not None:
            debug["middle_block"] = h
        outs.append(self.middle_block_out(h, emb, context, 1))
        return outs
