"""tools/train/tcnet against the official fixtures (../shared/parity); skipped in a fresh clone."""

import glob
import os

import pytest

pytest.importorskip("torch", reason="tools/train/tcnet needs PyTorch")
pytest.importorskip("safetensors", reason="the fixtures are read with safetensors")

from tools.train.check_parity import check  # noqa: E402
from tools.train.fixture_io import shared_parity_dir  # noqa: E402

PARITY = shared_parity_dir()
FIXTURES = sorted(glob.glob(os.path.join(PARITY, "*.safetensors"))) if PARITY else []
FIXTURES = [p for p in FIXTURES if not p.endswith("anime2sketch.safetensors")]


@pytest.mark.skipif(PARITY is None, reason="../shared/parity not found (set TCGRAPH_SHARED); parity needs the fixtures")
@pytest.mark.parametrize("path", FIXTURES, ids=[os.path.basename(p) for p in FIXTURES])
def test_fixture_within_tolerance(path):
    rows = check(path)
    bad = [r for r in rows if r[6] not in ("PASS", "info")]
    assert rows and not bad, bad
