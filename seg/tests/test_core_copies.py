import hashlib

from conftest import REPO

CORE_COPIES = ("cls/models/hrformer.py", "pose/hrformer_pose/hrformer.py",
               "seg/lib/models/backbones/hrformer.py")


def test_core_copies_are_identical():
    digests = {p: hashlib.sha256((REPO / p).read_bytes()).hexdigest() for p in CORE_COPIES}
    assert len(set(digests.values())) == 1, digests
