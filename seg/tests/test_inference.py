"""Test-time modes return logits at the input (or original) size."""
import torch

from conftest import micro_config
from lib.models import build_segmentor
from lib.segmentor.inference import Predictor, multi_scale_flip, sliding_window
from lib.utils.configer import Configer


def micro_model(num_classes=4):
    torch.manual_seed(0)
    return build_segmentor("hrt_small_ocr_v2", micro_config(), num_classes,
                           in_channels=240).eval()


@torch.no_grad()
def test_multi_scale_flip_returns_input_size_and_sums_flips():
    model = micro_model()
    img = torch.randn(1, 3, 37, 45)
    out = multi_scale_flip(model, img, [0.75, 1.0, 1.25])
    assert out.shape == (1, 4, 37, 45)
    one = multi_scale_flip(model, img, [1.0], flip=False)
    both = multi_scale_flip(model, img, [1.0], flip=True)
    flipped = model(img.flip(-1))[1].flip(-1)
    torch.testing.assert_close(both, one + flipped, atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_sliding_window_covers_the_image():
    out = sliding_window(micro_model(), torch.randn(1, 3, 40, 70), crop_hw=(32, 32))
    assert out.shape == (1, 4, 40, 70)


@torch.no_grad()
def test_predictor_crops_padding_and_resizes_to_original_size():
    config = Configer({"test": {"mode": "ms_test", "scale_search": [0.75, 1.0],
                                "data_transformer": {"size_mode": "diverse_size",
                                                     "fit_stride": 8}}})
    predictor = Predictor(config, "test")
    meta = {"border_size": (30, 41), "ori_size": (60, 82)}
    out = predictor(micro_model(), torch.randn(3, 30, 41), meta)
    assert out.shape == (4, 60, 82)
