import hashlib

from reference import REPO_ROOT

COPIES = ("cls/models/hrformer.py", "pose/hrformer_pose/hrformer.py",
          "seg/lib/models/backbones/hrformer.py")


def test_backbone_core_copies_are_identical() -> None:
    digests = {path: hashlib.sha256((REPO_ROOT / path).read_bytes()).hexdigest()
               for path in COPIES}
    assert len(set(digests.values())) == 1, digests
