import hashlib

import pytest

from conftest import REPO

# Vendored framework-free modules: one byte-identical copy next to each core.
VENDORED_FOLDERS = ("cls/models", "pose/hrformer_pose", "seg/lib/models/backbones")


@pytest.mark.parametrize("module", ["hrformer.py", "hrformer_checkpoint.py", "hrformer_dist.py",
                                    "hrformer_rng.py"])
def test_vendored_copies_are_identical(module):
    digests = {f: hashlib.sha256((REPO / f / module).read_bytes()).hexdigest()
               for f in VENDORED_FOLDERS}
    assert len(set(digests.values())) == 1, digests


def test_vendored_test_helper_copies_are_identical():
    digests = {f: hashlib.sha256((REPO / f / "tests" / "hrformer_stall.py").read_bytes())
               .hexdigest()
               for f in ("cls", "pose", "seg")}
    assert len(set(digests.values())) == 1, digests
