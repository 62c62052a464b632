"""The model rows of the quality benchmark: our PyTorch pipeline (tools/train/tcnet) on a clip's
keyframes, with the noise drawn from a fixed seed."""

from __future__ import annotations

import torch

SKETCH_FRAMES = (0, 3, 7, 11, 15)


class TorchModel:
    def __init__(self, model_path, control_path=None, steps=50, noise_seed=123):
        from tools.train.make_fixture import load_model

        self.model, self.cfg, _ = load_model(model_path)
        self.cfg = dict(self.cfg, ddim_steps=steps)
        self.noise_seed = noise_seed
        self.control = None
        if control_path:
            from tools.train.export import read_model_meta
            from tools.train.tcnet.controlnet import ControlNet
            from safetensors.torch import load_file

            meta = read_model_meta(control_path)
            self.control = ControlNet(meta["control_stage_config"]["params"])
            self.control.load_state_dict({k: v.float() for k, v in load_file(control_path).items()})
            self.control_scale = float(meta.get("control_scale", 1.0))

    def _noise(self, T, h, w, steps):
        g = torch.Generator().manual_seed(self.noise_seed)
        n = {"posterior": torch.randn(T, 4, h, w, generator=g), "x_T": torch.randn(1, 4, T, h, w, generator=g)}
        n.update({f"step{i}": torch.randn(1, 4, T, h, w, generator=g) for i in range(steps)})
        return n

    @torch.no_grad()
    def interpolate(self, clip, mode="model"):
        from tools.train.tcnet.clip import tokenize
        from tools.train.tcnet.model import decode_video, interpolate, keyframe_video, to_uint8

        T, H, W = self.cfg["T"], self.cfg["H"], self.cfg["W"]
        if clip.frames.shape[1:3] != (H, W) or clip.T != T:
            raise ValueError(f"clip {clip.seed} is {clip.T}x{clip.frames.shape[1]}x{clip.frames.shape[2]}, model wants {T}x{H}x{W}")
        video = keyframe_video(torch.from_numpy(clip.frames[0].copy()), torch.from_numpy(clip.frames[-1].copy()), T)
        noise = self._noise(T, H // 8, W // 8, self.cfg["ddim_steps"])
        m = self.model
        if mode == "model_0steps":
            frames = video.transpose(1, 2).reshape(T, 3, H, W)
            moments, hidden = m.first_stage_model.encode(frames)
            mean, _, std = m.first_stage_model.posterior(moments)
            z = (m.scale_factor * (mean + std * noise["posterior"])).transpose(0, 1)[None]
            refs = [torch.cat([h_[0:1], h_[-1:]], 0).transpose(0, 1)[None] for h_ in hidden]
            w = torch.linspace(0, 1, T).view(1, 1, T, 1, 1)
            samples = (1 - w) * z[:, :, :1] + w * z[:, :, -1:]
            v, _ = decode_video(m, samples, refs)
            return to_uint8(v[0]).numpy()
        control = None
        if mode == "model_sketch":
            keep = torch.zeros(T)
            keep[list(SKETCH_FRAMES)] = 1
            hint = torch.from_numpy(clip.sketch).float()[:, None] / 255.0 * keep.view(T, 1, 1, 1)
            net, s = self.control, self.control_scale
            guided = net.input_hint_block(hint, None, None, 1)  # depends on the hint only: once per video

            def control(x, t, ctx):
                res = net(x[0].transpose(0, 1), hint, t.repeat(T), ctx.repeat(T, 1, 1), guided_hint=guided)
                return [r * s for r in res]

        tokens, empty = tokenize([clip.caption]), tokenize([""])
        rec = interpolate(m, video, tokens, empty, noise, self.cfg, control=control)
        return rec["video_uint8"].numpy()
