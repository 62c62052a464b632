"""LatentVisualDiffusion as a state-dict container, the DDPM buffers, the DDIM sampler (spec §1.10)
and the interpolation pipeline of scripts/evaluation/inference.py --interp (spec §1)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .clip import ImageEmbedder, TextEncoder
from .resampler import Resampler
from .unet import UNetModel
from .vae import AutoencoderKLDualref


def schedule_buffers(p: dict) -> dict:
    """The 13 checkpoint buffers, computed like register_schedule (float64, stored float32)."""
    n = p.get("timesteps", 1000)
    betas = (torch.linspace(p["linear_start"] ** 0.5, p["linear_end"] ** 0.5, n, dtype=torch.float64) ** 2).numpy()
    if p.get("rescale_betas_zero_snr", False):
        s = np.sqrt(np.cumprod(1.0 - betas, axis=0))
        s0, sT = s[0].copy(), s[-1].copy()
        s = (s - sT) * (s0 / (s0 - sT))
        ab = s**2
        betas = 1 - np.concatenate([ab[0:1], ab[1:] / ab[:-1]])
    alphas = 1.0 - betas
    acp = np.cumprod(alphas, axis=0)
    acp_prev = np.append(1.0, acp[:-1])
    f32 = lambda a: torch.tensor(a, dtype=torch.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "betas": f32(betas),
            "alphas_cumprod": f32(acp),
            "alphas_cumprod_prev": f32(acp_prev),
            "sqrt_alphas_cumprod": f32(np.sqrt(acp)),
            "sqrt_one_minus_alphas_cumprod": f32(np.sqrt(1.0 - acp)),
            "log_one_minus_alphas_cumprod": f32(np.log(1.0 - acp)),
        }
        if p.get("parameterization", "eps") == "v":
            out["sqrt_recip_alphas_cumprod"] = torch.zeros(n)
            out["sqrt_recipm1_alphas_cumprod"] = torch.zeros(n)
        else:
            out["sqrt_recip_alphas_cumprod"] = f32(np.sqrt(1.0 / acp))
            out["sqrt_recipm1_alphas_cumprod"] = f32(np.sqrt(1.0 / acp - 1))
        pv = betas * (1.0 - acp_prev) / (1.0 - acp)
        out["posterior_variance"] = f32(pv)
        out["posterior_log_variance_clipped"] = f32(np.log(np.maximum(pv, 1e-20)))
        out["posterior_mean_coef1"] = f32(betas * np.sqrt(acp_prev) / (1.0 - acp))
        out["posterior_mean_coef2"] = f32((1.0 - acp_prev) * np.sqrt(alphas) / (1.0 - acp))
    if p.get("use_dynamic_rescale", False):
        out["scale_arr"] = f32(np.concatenate((np.linspace(1.0, p.get("base_scale", 0.7), 400), np.full(n, p.get("base_scale", 0.7)))))
    return out


class DiffusionWrapper(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.diffusion_model = unet


class LatentVisualDiffusion(nn.Module):
    """Attribute names are the checkpoint's top-level prefixes."""

    def __init__(self, config: dict):
        super().__init__()
        p = config["model_config"]["params"]
        arch = config["open_clip_arch"]
        self.params = p
        self.scale_factor = p.get("scale_factor", 0.18215)
        self.model = DiffusionWrapper(UNetModel(p["unet_config"]["params"]))
        self.first_stage_model = AutoencoderKLDualref(p["first_stage_config"]["params"])
        self.cond_stage_model = TextEncoder(arch[p["cond_stage_config"]["params"]["arch"]])
        self.embedder = ImageEmbedder(arch[p["img_cond_stage_config"]["params"]["arch"]])
        self.image_proj_model = Resampler(p["image_proj_stage_config"]["params"])
        for k, v in schedule_buffers(p).items():
            self.register_buffer(k, v)

    @property
    def unet(self):
        return self.model.diffusion_model


def ddim_timesteps(steps: int, spacing: str = "uniform_trailing", n: int = 1000) -> np.ndarray:
    if spacing == "uniform_trailing":
        c = n / steps
        return np.flip(np.round(np.arange(n, 0, -c))).astype(np.int64) - 1
    if spacing == "uniform":
        c = n // steps
        return np.asarray(list(range(0, n, c))) + 1
    raise ValueError(f"unknown timestep spacing {spacing!r}")


class DDIMSampler:
    """The reference DDIMSampler's arithmetic, including the float32/float64 mix of its scalars."""

    def __init__(self, buffers: dict, steps: int, eta: float = 1.0, spacing: str = "uniform_trailing", dynamic_rescale=True):
        self.tau = ddim_timesteps(steps, spacing, buffers["alphas_cumprod"].shape[0])
        acp = buffers["alphas_cumprod"].float()
        self.acp32 = acp
        self.sqrt_acp = buffers["sqrt_alphas_cumprod"].float()
        self.sqrt_1m_acp = buffers["sqrt_one_minus_alphas_cumprod"].float()
        a = acp[self.tau]
        a_prev = np.asarray([acp[0].item()] + acp[self.tau[:-1]].tolist())
        sig = eta * np.sqrt((1 - a_prev) / (1 - a.double().numpy()) * (1 - a.double().numpy() / a_prev))
        self.a = a
        self.a_prev = torch.tensor(a_prev, dtype=torch.float32)
        self.sigma = torch.tensor(sig, dtype=torch.float32)
        if dynamic_rescale:
            s = buffers["scale_arr"].float()[self.tau]
            self.scale = s
            self.scale_prev = torch.cat([s[0:1], s[:-1]])
        else:
            self.scale = self.scale_prev = torch.ones(len(self.tau))

    def sample(self, model_fn, x_T, noises, cfg_scale=7.5, guidance_rescale=0.7, record=None):
        """model_fn(x, t, branch) → v for branch in {'cond','uncond'}; noises[i] is step i's N(0,I)."""
        x = x_T
        S = len(self.tau)
        dt = x.dtype
        for i, step in enumerate(np.flip(self.tau)):
            k = S - i - 1
            t = torch.full((x.shape[0],), int(step), dtype=torch.long)
            v_c = model_fn(x, t, "cond")
            if cfg_scale != 1.0:
                v_u = model_fn(x, t, "uncond")
                v = v_u + cfg_scale * (v_c - v_u)
                if guidance_rescale > 0:
                    dims = list(range(1, v.ndim))
                    v = guidance_rescale * (v * (v_c.std(dim=dims, keepdim=True) / v.std(dim=dims, keepdim=True))) + (1 - guidance_rescale) * v
            else:
                v_u, v = None, v_c
            sa, s1 = self.sqrt_acp[step].to(dt), self.sqrt_1m_acp[step].to(dt)
            e_t = sa * v + s1 * x
            x0 = sa * x - s1 * v
            x0 = x0 * (self.scale_prev[k] / self.scale[k]).to(dt)
            a_prev, sigma = self.a_prev[k].to(dt), self.sigma[k].to(dt)
            dir_xt = (1.0 - a_prev - sigma**2).sqrt() * e_t
            x = a_prev.sqrt() * x0 + dir_xt + sigma * noises[i].to(dt)
            if record is not None:
                record[f"step{i}.v_cond"] = v_c
                if v_u is not None:
                    record[f"step{i}.v_uncond"] = v_u
                record[f"step{i}.pred_x0"] = x0
                record[f"step{i}.x_prev"] = x
        return x


def keyframe_video(first_u8: torch.Tensor, last_u8: torch.Tensor, T: int) -> torch.Tensor:
    """(H,W,3) uint8 ×2 → (1,3,T,H,W) in [-1,1]: first image for frames < T/2, last for the rest."""
    f = lambda u: (u.permute(2, 0, 1).float() / 255.0 - 0.5) / 0.5
    a, b = f(first_u8), f(last_u8)
    return torch.stack([a] * (T // 2) + [b] * (T - T // 2), dim=1)[None]


@torch.no_grad()
def interpolate(model: LatentVisualDiffusion, videos, prompt_tokens, empty_tokens, noise, cfg: dict, record=None, control=None):
    """image_guided_synthesis(interp=True) followed by the middle-frame re-decode.

    videos (1,3,T,H,W) in [-1,1]; noise: {'posterior': (T,4,h,w), 'x_T', 'step{i}'};
    control: optional callable(x, t, branch_context) → 13 scaled residuals (sketch guidance)."""
    dt = videos.dtype
    b, _, T, H, W = videos.shape
    rec = record if record is not None else {}
    img = videos[:, :, 0]
    rec["clip_tokens"] = model.embedder(img)
    rec["img_emb"] = model.image_proj_model(rec["clip_tokens"])
    rec["text_emb"] = model.cond_stage_model(prompt_tokens)
    ctx = torch.cat([rec["text_emb"], rec["img_emb"]], dim=1)
    frames = videos.transpose(1, 2).reshape(b * T, 3, H, W)
    moments, hidden = model.first_stage_model.encode(frames)
    mean, _, std = model.first_stage_model.posterior(moments)
    rec["posterior_mean"], rec["posterior_std"] = mean, std
    z = model.scale_factor * (mean + std * noise["posterior"].to(dt))
    z = z.reshape(b, T, *z.shape[1:]).transpose(1, 2)
    rec["z"] = z
    refs = []
    for i, hs in enumerate(hidden):
        hs = hs.reshape(b, T, *hs.shape[1:]).transpose(1, 2)
        refs.append(torch.cat([hs[:, :, 0:1], hs[:, :, -1:]], dim=2))
        rec[f"ref_context.{i}"] = refs[-1]
    c_concat = torch.zeros_like(z)
    c_concat[:, :, 0], c_concat[:, :, -1] = z[:, :, 0], z[:, :, -1]
    rec["c_concat"] = c_concat
    rec["uc_text_emb"] = model.cond_stage_model(empty_tokens)
    rec["uc_clip_tokens"] = model.embedder(torch.zeros_like(img))
    rec["uc_img_emb"] = model.image_proj_model(rec["uc_clip_tokens"])
    uc = torch.cat([rec["uc_text_emb"], rec["uc_img_emb"]], dim=1)
    fs = torch.full((b,), int(cfg["frame_stride"]), dtype=torch.long)
    contexts = {"cond": ctx, "uncond": uc}

    def model_fn(x, t, branch):
        res = control(x, t, contexts[branch]) if control is not None else None
        return model.unet(torch.cat([x, c_concat], dim=1), t, contexts[branch], fs, control=res)

    buffers = {k: getattr(model, k) for k in ("alphas_cumprod", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "scale_arr") if hasattr(model, k)}
    sampler = DDIMSampler(buffers, cfg["ddim_steps"], cfg["ddim_eta"], cfg["timestep_spacing"], model.params.get("use_dynamic_rescale", False))
    steps = [noise[f"step{i}"] for i in range(cfg["ddim_steps"])]
    samples = sampler.sample(model_fn, noise["x_T"].to(dt), steps, cfg["unconditional_guidance_scale"], cfg["guidance_rescale"], rec)
    rec["samples"] = samples
    video, rec["decoded_middle"] = decode_video(model, samples, refs)
    rec["video"] = video[:, None]
    rec["video_uint8"] = to_uint8(video[0])
    return rec


def decode_video(model, samples, refs):
    """Decode, then the middle-frame fix (Q5): latents without frames 1 and T-2 are decoded again and
    their frames T/2-2, T/2-1 replace output frames T/2-1, T/2. Returns (video, middle decode)."""
    T = samples.shape[2]
    video = decode(model, samples, refs)
    idx = list(range(T))
    del idx[1]
    del idx[-2]
    middle = decode(model, samples[:, :, idx], refs)
    video[:, :, T // 2 - 1 : T // 2 + 1] = middle[:, :, T // 2 - 2 : T // 2]
    return video, middle


def decode(model, samples, refs, chunk=None):
    """decode_first_stage with perframe_ae: z/scale per chunk of temporal_length frames → (b,3,T,H,W)."""
    b, c, T, h, w = samples.shape
    z = (samples / model.scale_factor).transpose(1, 2).reshape(b * T, c, h, w)
    n = chunk or model.unet.temporal_length
    outs = [model.first_stage_model.decode(z[i : i + n], refs, timesteps=z[i : i + n].shape[0]) for i in range(0, b * T, n)]
    x = torch.cat(outs, dim=0)
    return x.reshape(b, T, *x.shape[1:]).transpose(1, 2)


def to_uint8(video):
    """(3,T,H,W) in [-1,1] → (T,H,W,3) uint8 by truncation, as the saver does (spec §1.12)."""
    v = (video.clamp(-1.0, 1.0) + 1.0) / 2.0 * 255.0
    return v.permute(1, 2, 3, 0).to(torch.uint8)
