"""Train the small ToonCrafter (tools/train/small_config.py) on generated cartoon clips, end to end,
within a wall-clock budget, and export safetensors under the real checkpoint keys.

    python -m tools.train.train --out models/tcgraph-tiny --minutes 54

Stages run as separate single-threaded processes, two at a time (a 2-core machine; one PyTorch
thread per process avoids OpenMP spin-waits that make a contended 2-thread run ~60x slower):

  A  (a) CLIP towers, contrastive on (first frame, caption)      (b) VAE: encoder + dual-ref decoder
  B  (a) UNet + Resampler: v-prediction, interpolation inputs     (b) decoder keeps training (encoder frozen)
  C  (a) sketch ControlNet on the line art, through the frozen UNet (b) decoder keeps training

Every stage stops on its time budget, so the run's wall time is bounded whatever the load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

from tools.cartoon import make_clip, split_seeds

from . import small_config
from .export import export_control, export_model
from .tcnet.clip import ImageEmbedder, TextEncoder, clip_preprocess, tokenize
from .tcnet.controlnet import ControlNet
from .tcnet.model import LatentVisualDiffusion
from .tcnet.vae import AutoencoderKLDualref

FS = 10  # frame-stride condition the clips are rendered at (the CLI default)


# ---------------------------------------------------------------- helpers


class Log:
    def __init__(self, path, stage):
        self.path, self.stage, self.rows, self.t0 = path, stage, [], time.time()
        self.ema = None

    def __call__(self, step, loss, **extra):
        self.ema = loss if self.ema is None else 0.98 * self.ema + 0.02 * loss
        if step % 25 == 0:
            self.rows.append({"step": step, "t": round(time.time() - self.t0, 1), "loss": round(loss, 5), "loss_ema": round(self.ema, 5), **extra})
            with open(self.path, "w") as f:
                json.dump({"stage": self.stage, "rows": self.rows}, f)


def to_video(frames_u8):
    """(T,H,W,3) uint8 → (T,3,H,W) in [-1,1]."""
    return torch.from_numpy(frames_u8).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def seeds_for(stage_offset):
    """An endless stream of train-split seeds, disjoint between stages."""
    i = 0
    while True:
        yield split_seeds("train", 1, start=stage_offset + i)[0]
        i += 1


ZERO_INIT_SUFFIXES = (
    "out_layers.3", "temopral_conv.conv4.2", "transformer.proj_out", "out.2", "time_stack.out_layers.3",
    "attn_refinement.0.conv", "attn_refinement.1.conv", "attn_refinement.4.conv",
)


def zero_init_like_reference(module):
    """The reference zero-initialises residual outputs (ResBlock out conv, transformer proj_out,
    temporal conv4, UNet out conv, Fusion to_out, Combiner conv): every block starts as identity."""
    for name, m in module.named_modules():
        hit = name.endswith(ZERO_INIT_SUFFIXES) or name == "out.2" or (name.endswith("proj_out") and not name.endswith("attn_1.proj_out"))
        hit = hit or ("attn_refinement" in name and name.endswith("to_out.0"))
        if hit and isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)):
            torch.nn.init.zeros_(m.weight)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)


def save(sd, path):
    torch.save({k: v.detach().clone() for k, v in sd.items()}, path + ".tmp")
    os.replace(path + ".tmp", path)


def adamw(params, lr):
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), weight_decay=0.0)


class Schedule:
    """Linear warm-up, then a cosine decay to `floor`·base over the stage's wall-clock budget: the
    budget is time, not steps, so the decay follows the clock. A short run gains most from the low
    learning rate at its end."""

    def __init__(self, base, budget, warmup=100, floor=0.05):
        self.base, self.budget, self.warmup, self.floor = base, budget, warmup, floor
        self.t0 = time.time()

    def lr(self, step):
        frac = min(1.0, (time.time() - self.t0) / self.budget)
        cos = self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * frac))
        return self.base * min(1.0, (step + 1) / self.warmup) * cos

    def apply(self, opt, step):
        for g in opt.param_groups:
            g["lr"] = self.lr(step)


class EMA:
    def __init__(self, module, decay=0.995):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items()}
        self.n = 0

    def update(self, module):
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        with torch.no_grad():
            for k, v in module.state_dict().items():
                if v.dtype.is_floating_point:
                    self.shadow[k].mul_(d).add_(v, alpha=1 - d)
                else:
                    self.shadow[k].copy_(v)


# ---------------------------------------------------------------- stage A(a): CLIP


def stage_clip(work, budget, cfg, seed):
    torch.manual_seed(seed)
    arch = cfg["open_clip_arch"][small_config.ARCH]
    text, image = TextEncoder(arch), ImageEmbedder(arch)
    params = list(text.parameters()) + list(image.parameters())
    opt = adamw(params, 1e-3)
    log = Log(os.path.join(work, "clip.json"), "clip")
    src = seeds_for(0)
    pool = []
    t_end, step, B = time.time() + budget, 0, 24
    sched = Schedule(1e-3, budget, 50)
    while time.time() < t_end:
        for _ in range(4 if len(pool) >= 256 else 32):
            c = make_clip(next(src))
            pool.append((c.frames[0], c.frames[random.randrange(c.T)], c.caption))
            if len(pool) > 512:
                pool.pop(random.randrange(len(pool)))
        batch = random.sample(pool, B)
        img = torch.stack([to_video(np.stack([b[0] if random.random() < 0.75 else b[1]]))[0] for b in batch])
        tok = tokenize([b[2] for b in batch])
        sched.apply(opt, step)
        fi = F.normalize(image.model.visual.pooled(clip_preprocess(img)), dim=-1)
        ft = F.normalize(text.model.pooled(tok), dim=-1)
        logits = text.model.logit_scale.exp().clamp(max=100) * fi @ ft.t()
        target = torch.arange(B)
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        acc = float((logits.argmax(1) == target).float().mean())
        log(step, float(loss.detach()), acc=round(acc, 3))
        step += 1
    save({**{f"cond_stage_model.{k}": v for k, v in text.state_dict().items()}, **{f"embedder.{k}": v for k, v in image.state_dict().items()}},
         os.path.join(work, "clip.pt"))
    log.rows.append({"step": step, "final_loss_ema": log.ema})
    json.dump({"stage": "clip", "rows": log.rows}, open(os.path.join(work, "clip.json"), "w"))


# ---------------------------------------------------------------- VAE stages


def vae_chunk(clip, n=4, crop=None):
    """n frames at a random stride whose ends play the keyframes; optional aligned crop (h, w)."""
    T = clip.T
    s = random.randint(1, (T - 1) // (n - 1))
    a = random.randint(0, T - 1 - s * (n - 1))
    x = to_video(clip.frames[a : a + s * (n - 1) + 1 : s])
    if crop:
        H, W = x.shape[-2:]
        y0 = 8 * random.randint(0, (H - crop[0]) // 8)
        x0 = 8 * random.randint(0, (W - crop[1]) // 8)
        x = x[:, :, y0 : y0 + crop[0], x0 : x0 + crop[1]]
    return x


def refs_from(hidden, n):
    """Encoder hidden states of a chunk → the decoder's refs (1, C, 2, H, W): first and last frame."""
    return [torch.stack([h[0], h[n - 1]], dim=1)[None] for h in hidden]


def vae_step(vae, x, train_encoder, sample=True, kl_weight=1e-6):
    """Reconstruct a chunk through the dual-ref decoder (refs = the chunk's end frames). The frames
    between the ends can only come through the latents, so they weigh 3x: otherwise a short run
    learns to copy the references and ignore z."""
    n = x.shape[0]
    if train_encoder:
        moments, hidden = vae.encode(x)
    else:
        with torch.no_grad():
            moments, hidden = vae.encode(x)
    mean, logvar, std = vae.posterior(moments)
    z = mean + std * torch.randn_like(mean) if sample else mean
    y = vae.decode(z, refs_from(hidden, n), timesteps=n)
    w = torch.full((n, 1, 1, 1), 3.0)
    w[0], w[-1] = 1.0, 1.0
    err = (y - x).abs() + 0.5 * (y - x).pow(2)
    rec = (err * w).mean() / w.mean()
    kl = 0.5 * mean.pow(2).mean()
    return rec + kl_weight * kl, float(rec.detach())


def stage_vae(work, budget, cfg, seed):
    """Encoder + dual-ref decoder jointly on 4-frame crops, as a deterministic autoencoder (z = mean:
    a short run cannot wait for the posterior variance to shrink). Afterwards the posterior is fixed
    to a small constant std and the latent scale is set exactly (mean latents get std 1/scale_factor;
    a reparametrisation, outputs unchanged)."""
    torch.manual_seed(seed)
    p = cfg["model_config"]["params"]
    vae = AutoencoderKLDualref(p["first_stage_config"]["params"])
    zero_init_like_reference(vae)
    opt = adamw(vae.parameters(), 1e-3)
    log = Log(os.path.join(work, "vae.json"), "vae")
    src = seeds_for(200_000)
    t_end, step = time.time() + budget, 0
    sched = Schedule(1e-3, budget, 50)
    while time.time() < t_end:
        clip = make_clip(next(src))
        x = vae_chunk(clip, 4, crop=(32, 64))  # cheap steps: the budget buys steps, not pixels
        sched.apply(opt, step)
        loss, rec = vae_step(vae, x, True, sample=False)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        log(step, rec)
        step += 1
    set_latent_scale(vae, p["scale_factor"], src)
    save(vae.state_dict(), os.path.join(work, "vae.pt"))
    log.rows.append({"step": step, "final_rec_ema": log.ema})
    json.dump({"stage": "vae", "rows": log.rows}, open(os.path.join(work, "vae.json"), "w"))


@torch.no_grad()
def set_latent_scale(vae, scale_factor, src, clips=12, noise=0.02):
    """Mean latents → std 1/scale_factor (quant_conv mean rows ×k, decoder conv_in ÷k: exact);
    the posterior std becomes the constant `noise`·(1/scale_factor) (logvar rows: zero weight,
    constant bias), so the pipeline's posterior sample is the mean up to 2 % noise."""
    zs = []
    for _ in range(clips):
        mean, _, _ = vae.posterior(vae.encode(to_video(make_clip(next(src)).frames[::5]))[0])
        zs.append(mean)
    k = (1.0 / scale_factor) / float(torch.cat(zs).std())
    qc = vae.quant_conv
    e = qc.out_channels // 2
    qc.weight[:e] *= k
    qc.bias[:e] *= k
    qc.weight[e:] = 0.0
    qc.bias[e:] = 2 * math.log(noise / scale_factor)
    vae.decoder.conv_in.weight /= k


def stage_decoder(work, budget, cfg, seed, name):
    """The decoder keeps learning with the encoder frozen (the UNet's latent space stays fixed)."""
    torch.manual_seed(seed)
    p = cfg["model_config"]["params"]
    vae = AutoencoderKLDualref(p["first_stage_config"]["params"])
    vae.load_state_dict(torch.load(os.path.join(work, "vae.pt")))
    opt = adamw(vae.decoder.parameters(), 2e-4)
    log = Log(os.path.join(work, f"{name}.json"), name)
    src = seeds_for(300_000 + seed * 1000)
    t_end, step = time.time() + budget, 0
    sched = Schedule(2e-4, budget, 20)
    while time.time() < t_end:
        clip = make_clip(next(src))
        # Whole 16-frame clips (cropped): inference decodes T frames with the references only at the
        # ends, so frames far from both references must be learned from the latents alone.
        x = vae_chunk(clip, clip.T, crop=(32, 64))
        sched.apply(opt, step)
        loss, rec = vae_step(vae, x, False)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.decoder.parameters(), 1.0)
        opt.step()
        log(step, rec)
        step += 1
    save(vae.state_dict(), os.path.join(work, "vae.pt"))
    log.rows.append({"step": step, "final_rec_ema": log.ema})
    json.dump({"stage": name, "rows": log.rows}, open(os.path.join(work, f"{name}.json"), "w"))


# ---------------------------------------------------------------- UNet stage


class LatentPool:
    """Encoded training clips (frozen encoder, CLIP, text); one fresh clip replaces an old one per step."""

    def __init__(self, model, src, size):
        self.model, self.src, self.size, self.items = model, src, size, []
        with torch.no_grad():
            self.uc_text = model.cond_stage_model(tokenize([""]))[0]
            self.uc_clip = model.embedder(torch.zeros(1, 3, small_config.H, small_config.W))[0]

    @torch.no_grad()
    def add(self):
        m = self.model
        c = make_clip(next(self.src))
        x = to_video(c.frames)
        moments, _ = m.first_stage_model.encode(x)
        mean, _, std = m.first_stage_model.posterior(moments)
        z = (m.scale_factor * (mean + std * torch.randn_like(mean))).transpose(0, 1)  # 4,T,h,w
        item = {"z": z, "text": m.cond_stage_model(tokenize([c.caption]))[0], "clip": m.embedder(x[:1])[0],
                "sketch": torch.from_numpy(c.sketch).float()[:, None] / 255.0}
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            self.items[random.randrange(self.size)] = item

    def batch(self, B, p_uncond=0.1, p_text=0.05, p_img=0.05):
        its = random.sample(self.items, B)
        z = torch.stack([i["z"] for i in its])
        texts, clips = [], []
        for i in its:
            r = random.random()
            drop_t = r < p_uncond or p_uncond <= r < p_uncond + p_text
            drop_i = r < p_uncond or p_uncond + p_text <= r < p_uncond + p_text + p_img
            texts.append(self.uc_text if drop_t else i["text"])
            clips.append(self.uc_clip if drop_i else i["clip"])
        return z, torch.stack(texts), torch.stack(clips), torch.stack([i["sketch"] for i in its])


def v_target(model, z, t, noise):
    """Noised latents and the v target. With use_dynamic_rescale the reference trains on the clean
    latents scaled by scale_arr[t] (1 → base_scale over t < 400; LatentDiffusion.forward), and its
    DDIM sampler undoes that scale step by step (x0 · scale_prev/scale): a model trained on unscaled
    latents comes out of the sampler up to 1/base_scale too strong. c_concat stays unscaled."""
    if model.params.get("use_dynamic_rescale", False):
        z = z * model.scale_arr[t].view(-1, 1, 1, 1, 1)
    sa = model.sqrt_alphas_cumprod[t].view(-1, 1, 1, 1, 1)
    s1 = model.sqrt_one_minus_alphas_cumprod[t].view(-1, 1, 1, 1, 1)
    return sa * z + s1 * noise, sa * noise - s1 * z


def sample_t(n):
    """Uniform timesteps with extra weight on the noisiest third, where the in-between layout is
    decided (at t=999 the sampler's x0 is -v, i.e. everything comes from the conditioning)."""
    t = torch.randint(0, 1000, (n,))
    hi = torch.rand(n) < 0.3
    return torch.where(hi, torch.randint(667, 1000, (n,)), t)


def interp_concat(z):
    cc = torch.zeros_like(z)
    cc[:, :, 0], cc[:, :, -1] = z[:, :, 0], z[:, :, -1]
    return cc


def load_frozen_parts(model, work):
    sd = {}
    sd.update(torch.load(os.path.join(work, "clip.pt")))
    sd.update({f"first_stage_model.{k}": v for k, v in torch.load(os.path.join(work, "vae.pt")).items()})
    missing = model.load_state_dict(sd, strict=False)
    return missing


def stage_unet(work, budget, cfg, seed):
    torch.manual_seed(seed)
    model = LatentVisualDiffusion(cfg)
    zero_init_like_reference(model.unet)
    load_frozen_parts(model, work)
    for p_ in list(model.first_stage_model.parameters()) + list(model.cond_stage_model.parameters()) + list(model.embedder.parameters()):
        p_.requires_grad_(False)
    train = list(model.unet.parameters()) + list(model.image_proj_model.parameters())
    t_end = time.time() + budget
    opt = adamw(train, 8e-4)
    ema_u, ema_r = EMA(model.unet), EMA(model.image_proj_model)
    pool = LatentPool(model, seeds_for(400_000), 96)
    for _ in range(16):
        pool.add()
    log = Log(os.path.join(work, "unet.json"), "unet")
    fs = torch.full((2,), FS, dtype=torch.long)
    step, B = 0, 2
    sched = Schedule(8e-4, t_end - time.time(), 100)
    while time.time() < t_end:
        if step % 3 == 0:  # encoding a clip costs about a third of a step: reuse each a few times
            pool.add()
        z, text, clipt, _ = pool.batch(B)
        ctx = torch.cat([text, model.image_proj_model(clipt)], dim=1)
        t = sample_t(B)
        noise = torch.randn_like(z)
        x_t, v = v_target(model, z, t, noise)
        pred = model.unet(torch.cat([x_t, interp_concat(z)], dim=1), t, ctx, fs[:B])
        loss = F.mse_loss(pred, v)
        sched.apply(opt, step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(train, 1.0)
        opt.step()
        ema_u.update(model.unet)
        ema_r.update(model.image_proj_model)
        log(step, float(loss.detach()))
        step += 1
    sd = {f"model.diffusion_model.{k}": v for k, v in ema_u.shadow.items()}
    sd.update({f"image_proj_model.{k}": v for k, v in ema_r.shadow.items()})
    save(sd, os.path.join(work, "unet.pt"))
    log.rows.append({"step": step, "final_loss_ema": log.ema})
    json.dump({"stage": "unet", "rows": log.rows}, open(os.path.join(work, "unet.json"), "w"))


# ---------------------------------------------------------------- ControlNet stage


def stage_control(work, budget, cfg, seed):
    """Sketch ControlNet (hint = line art, white on black) trained through the frozen UNet with the
    inference wiring: per-frame timesteps, the full 77+16T context for every frame, residuals into
    the UNet skips. Initialised as the ControlNet recipe does: a copy of the UNet's encoder weights
    where names and shapes agree, zero convs and the last hint conv at zero."""
    torch.manual_seed(seed)
    model = LatentVisualDiffusion(cfg)
    load_frozen_parts(model, work)
    model.load_state_dict(torch.load(os.path.join(work, "unet.pt")), strict=False)
    for p_ in model.parameters():
        p_.requires_grad_(False)
    net = ControlNet(small_config.control_config()["control_stage_config"]["params"])
    own = net.state_dict()
    unet_sd = model.unet.state_dict()
    net.load_state_dict({**own, **{k: v for k, v in unet_sd.items() if k in own and own[k].shape == v.shape}})
    for name, m in net.named_modules():
        if name.startswith("zero_convs") or name.startswith("middle_block_out") or name == "input_hint_block.14":
            torch.nn.init.zeros_(m.weight) if hasattr(m, "weight") else None
            torch.nn.init.zeros_(m.bias) if hasattr(m, "bias") and m.bias is not None else None
    t_end = time.time() + budget
    opt = adamw(net.parameters(), 2e-4)
    pool = LatentPool(model, seeds_for(600_000), 64)
    for _ in range(8):
        pool.add()
    log = Log(os.path.join(work, "control.json"), "control")
    fs = torch.full((1,), FS, dtype=torch.long)
    T = small_config.T
    step = 0
    sched = Schedule(2e-4, t_end - time.time(), 50)
    while time.time() < t_end:
        if step % 2 == 0:
            pool.add()
        z, text, clipt, sketch = pool.batch(1)
        with torch.no_grad():
            ctx = torch.cat([text, model.image_proj_model(clipt)], dim=1)
        keep = (torch.rand(T) < 0.5).float()
        keep[0], keep[-1] = float(random.random() < 0.8), float(random.random() < 0.8)
        hint = sketch[0] * keep.view(T, 1, 1, 1)
        t = sample_t(1)
        noise = torch.randn_like(z)
        x_t, v = v_target(model, z, t, noise)
        xf = x_t[0].transpose(0, 1)  # (T,4,h,w) frame-major
        res = net(xf, hint, t.repeat(T), ctx.repeat(T, 1, 1))
        pred = model.unet(torch.cat([x_t, interp_concat(z)], dim=1), t, ctx, fs, control=res)
        loss = F.mse_loss(pred, v)
        sched.apply(opt, step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        log(step, float(loss.detach()))
        step += 1
    save(net.state_dict(), os.path.join(work, "control.pt"))
    log.rows.append({"step": step, "final_loss_ema": log.ema})
    json.dump({"stage": "control", "rows": log.rows}, open(os.path.join(work, "control.json"), "w"))


# ---------------------------------------------------------------- driver


def _run(fn, args):
    torch.set_num_threads(1)
    fn(*args)


def run_parallel(jobs):
    ps = [mp.get_context("spawn").Process(target=_run, args=(fn, args), name=fn.__name__) for fn, args in jobs]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    bad = [p.name for p in ps if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"training stage(s) failed: {bad}")


def finetune_decoder(a, cfg) -> int:
    """Continue training the decoder of an exported model (encoder, latents, UNet untouched)."""
    from .make_fixture import load_model

    path = os.path.join(a.out, "tcgraph-tiny.safetensors")
    model, stored, _ = load_model(path)
    # The export carries this trainer's config (its sampler settings may have been retuned since the
    # model was trained); the networks themselves must be the ones in the file.
    if stored["model_config"] != cfg["model_config"] or stored["open_clip_arch"] != cfg["open_clip_arch"]:
        raise SystemExit(f"{path}: its networks differ from tools/train/small_config.py; fine-tune with the config it was trained with")
    os.makedirs(a.work, exist_ok=True)
    save(model.first_stage_model.state_dict(), os.path.join(a.work, "vae.pt"))
    t0 = time.time()
    run_parallel([(stage_decoder, (a.work, a.finetune_decoder * 60, cfg, a.seed + 6, "decoder_ft"))])
    model.first_stage_model.load_state_dict(torch.load(os.path.join(a.work, "vae.pt")))
    export_model(model, cfg, a.out)
    with open(os.path.join(a.work, "decoder_ft.json")) as f:
        rows = json.load(f)["rows"]
    logp = os.path.join(a.out, "training_log.json")
    log = json.load(open(logp)) if os.path.exists(logp) else {}
    log.setdefault("finetune", []).append({"stage": "decoder_ft", "wall_seconds": round(time.time() - t0, 1), "steps": rows[-1].get("step"),
                                          "load_average_at_end": os.getloadavg(), "rows": rows})
    with open(logp, "w") as f:
        json.dump(log, f, indent=0)
    print(f"[train] decoder fine-tune: {rows[-1].get('step')} steps in {time.time() - t0:.0f}s, rec ema {rows[-2].get('loss_ema') if len(rows) > 1 else None}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.train.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models/tcgraph-tiny")
    ap.add_argument("--work", default="/tmp/tcgraph-train")
    ap.add_argument("--minutes", type=float, default=54.0, help="wall-clock budget of the three phases")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--finetune-decoder", type=float, default=0.0, metavar="MINUTES",
                    help="instead of a full run: keep training the decoder of the model in --out for MINUTES")
    a = ap.parse_args(argv)
    os.makedirs(a.work, exist_ok=True)
    cfg = small_config.model_config()
    if a.finetune_decoder > 0:
        return finetune_decoder(a, cfg)
    total = a.minutes * 60
    # The UNet gets the most: it is the generative part. The decoder trains on through B and C.
    # The VAE (phase A) bounds every later number (its ceiling is the in-betweens' ceiling), so it
    # gets a quarter: the CLIP towers beside it converge well before that.
    A, B, C = 0.25 * total, 0.57 * total, 0.18 * total
    t0 = time.time()
    phases = []
    print(f"[train] budget {a.minutes:.1f} min: A {A / 60:.1f}  B {B / 60:.1f}  C {C / 60:.1f} (work {a.work})", flush=True)
    run_parallel([(stage_clip, (a.work, A, cfg, a.seed)), (stage_vae, (a.work, A, cfg, a.seed + 1))])
    phases.append(("A clip+vae", time.time() - t0))
    print(f"[train] phase A done at {time.time() - t0:.0f}s", flush=True)
    run_parallel([(stage_unet, (a.work, B, cfg, a.seed + 2)), (stage_decoder, (a.work, B, cfg, a.seed + 3, "decoder_b"))])
    phases.append(("B unet+decoder", time.time() - t0))
    print(f"[train] phase B done at {time.time() - t0:.0f}s", flush=True)
    run_parallel([(stage_control, (a.work, C, cfg, a.seed + 4)), (stage_decoder, (a.work, C, cfg, a.seed + 5, "decoder_c"))])
    phases.append(("C control+decoder", time.time() - t0))
    print(f"[train] phase C done at {time.time() - t0:.0f}s", flush=True)
    model = LatentVisualDiffusion(cfg)
    load_frozen_parts(model, a.work)
    model.load_state_dict(torch.load(os.path.join(a.work, "unet.pt")), strict=False)
    logs = {}
    for s in ("clip", "vae", "unet", "decoder_b", "control", "decoder_c"):
        with open(os.path.join(a.work, f"{s}.json")) as f:
            logs[s] = json.load(f)["rows"]
    wall = time.time() - t0
    info = {"wall_seconds": round(wall, 1), "phases": [(n, round(t, 1)) for n, t in phases], "load_average_at_end": os.getloadavg()}
    paths = export_model(model, cfg, a.out)
    net = ControlNet(small_config.control_config()["control_stage_config"]["params"])
    net.load_state_dict(torch.load(os.path.join(a.work, "control.pt")))
    paths += export_control(net, small_config.control_config(), a.out)
    summary = {"run": info, "stages": {k: {"steps": v[-1].get("step"), "first": v[0] if len(v) > 1 else None, "last": v[-2] if len(v) > 1 else None} for k, v in logs.items()}}
    with open(os.path.join(a.out, "training_log.json"), "w") as f:
        json.dump({**summary, "curves": logs}, f, indent=0)
    print(json.dumps(summary, indent=1))
    print(f"[train] wrote {', '.join(paths)}; wall {wall / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
