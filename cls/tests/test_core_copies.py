import hashlib

import pytest

from reference import REPO_ROOT

# Vendored framework-free modules: one byte-identical copy next to each core.
FOLDERS = ("cls/models", "pose/hrformer_pose", "seg/lib/models/backbones")


@pytest.mark.parametrize("module", ["hrformer.py", "hrformer_checkpoint.py", "hrformer_dist.py",
                                    "hrformer_rng.py"])
def test_vendored_copies_are_identical(module: str) -> None:
    digests = {folder: hashlib.sha256((REPO_ROOT / folder / module).read_bytes()).hexdigest()
               for folder in FOLDERS}
    assert len(set(digests.values())) == 1, digests


def test_vendored_test_helper_copies_are_identical():
    digests = {f: hashlib.sha256((REPO_ROOT / f / "tests" / "hrformer_stall.py").read_bytes())
               .hexdigest()
               for f in ("cls", "pose", "seg")}
    assert len(set(digests.values())) == 1, digests
