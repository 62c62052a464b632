"""Writes a tiny Anime2Sketch generator checkpoint twice, for the loader tests in
SketchAnime2SketchTests.swift: as a PyTorch zip checkpoint the way DataParallel training saves it
(`torch.save(net.state_dict())`, every key prefixed `module.`), and as safetensors with the bare
keys. Same random values in both; ngf 1, 8 levels (the released layout scaled down 64x).

    python3 make_anime2sketch_checkpoints.py   # in this folder
"""
from collections import OrderedDict

import torch
from safetensors.torch import save_file

NGF, LEVELS = 1, 8


def layout(ngf=NGF, levels=LEVELS, inp=3, out=1):
    def mult(d):
        return min(2 ** d, 8)

    keys = [("model.model.0.weight", [ngf, inp, 4, 4]), ("model.model.0.bias", [ngf])]
    for d in range(1, levels):
        p = "model.model.1" + ".model.3" * (d - 1)
        outer, inner = ngf * mult(d - 1), ngf * mult(d)
        innermost = d == levels - 1
        keys += [(f"{p}.model.1.weight", [inner, outer, 4, 4]), (f"{p}.model.1.bias", [inner])]
        up = f"{p}.model.3" if innermost else f"{p}.model.5"
        keys += [(f"{up}.weight", [inner if innermost else 2 * inner, outer, 4, 4]), (f"{up}.bias", [outer])]
    keys += [("model.model.3.weight", [2 * ngf, out, 4, 4]), ("model.model.3.bias", [out])]
    return keys


def main():
    g = torch.Generator().manual_seed(20240531)
    bare = OrderedDict((k, torch.randn(s, generator=g) * 0.3) for k, s in layout())
    torch.save(OrderedDict(("module." + k, v) for k, v in bare.items()), "anime2sketch_ngf1_dataparallel.pth")
    save_file(dict(bare), "anime2sketch_ngf1.safetensors")


if __name__ == "__main__":
    main()
