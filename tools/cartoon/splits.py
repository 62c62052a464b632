"""Train / held-out splits are disjoint seed ranges, so a clip's split follows from its seed alone."""

HELDOUT_BASE = 1_000_000


def split_of(seed: int) -> str:
    return "heldout" if seed >= HELDOUT_BASE else "train"


def split_seeds(split: str, count: int, start: int = 0) -> list[int]:
    if split == "train":
        if start + count > HELDOUT_BASE:
            raise ValueError(f"train split has {HELDOUT_BASE} seeds; asked for {start}..{start + count}")
        return list(range(start, start + count))
    if split == "heldout":
        return list(range(HELDOUT_BASE + start, HELDOUT_BASE + start + count))
    raise ValueError(f"unknown split {split!r} (expected 'train' or 'heldout')")
