"""A PyTorch re-implementation of the ToonCrafter networks at any size, with the checkpoint's keys.

Written from the spec (/work/shared/docs/tooncrafter-spec.md) and proven against the parity fixtures
by tools/train/check_parity.py. Module attribute names are the state-dict names of the official
checkpoint, so `state_dict()` keys match it one to one.
"""
