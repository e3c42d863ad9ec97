"""Test-time modes return logits at the input (or original) size; the sliding window
averages its crops at a quarter of the resolution and upsamples strip by strip."""
import pytest
import torch
import torch.nn.functional as F

from conftest import micro_config
from lib.models import build_segmentor
from lib.segmentor import inference
from lib.segmentor.inference import (Predictor, check_window, labels_from_scores,
                                     multi_scale_flip, slide_multi_scale_flip, slide_scores,
                                     sliding_window, upsample_scores, window_starts)
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
    out = sliding_window(micro_model(), torch.randn(1, 3, 40, 70), (32, 32), (20, 20))
    assert out.shape == (1, 4, 40, 70) and torch.isfinite(out).all()


def test_windows_start_every_stride_and_end_flush():
    assert window_starts(100, 32, 20) == [0, 20, 40, 60, 68]
    assert window_starts(64, 32, 32) == [0, 32]
    assert window_starts(28, 32, 8) == [0]
    with pytest.raises(ValueError, match=r"crop size \[30, 32\]: expected height and width, "
                                         r"positive multiples of 4"):
        check_window((30, 32), (8, 8))
    with pytest.raises(ValueError, match=r"stride \[8, 40\] is larger than the crop size"):
        check_window((32, 32), (8, 40))


def identity(x):
    """A "network" whose logits are its input: the scores must be the image's 4x4 means."""
    return (x,)


def test_slide_scores_average_overlapping_crops_at_a_quarter_resolution():
    img = torch.randn(1, 3, 37, 70)
    expected = F.avg_pool2d(F.pad(img, (0, 2, 0, 3)), 4)   # padded to 40 x 72, 4x4 cells
    for crop, stride in (((16, 24), (8, 12)), ((16, 24), (16, 24)), ((64, 96), (64, 96))):
        got = slide_scores(identity, img, crop, stride)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    both = slide_multi_scale_flip(identity, img, (16, 24), (8, 12), [1.0], flip=True)
    torch.testing.assert_close(both, 2 * expected, rtol=0, atol=1e-5)
    half = slide_multi_scale_flip(identity, img, (16, 24), (8, 12), [0.5], flip=False)
    assert half.shape == expected.shape


def test_strip_labels_equal_the_argmax_of_the_whole_upsampling(monkeypatch):
    monkeypatch.setattr(inference, "STRIP_ROWS", 5)   # many strips, and a short last one
    scores = torch.randn(1, 6, 23, 9, generator=torch.Generator().manual_seed(0))
    full = upsample_scores(scores, (90, 35))
    assert full.shape == (1, 6, 90, 35)
    labels = labels_from_scores(scores, (90, 35))
    assert labels.dtype == torch.uint8
    assert torch.equal(labels, full[0].argmax(0).to(torch.uint8))
    many = labels_from_scores(torch.randn(1, 300, 3, 4), (12, 16))
    assert many.dtype == torch.int32 and int(many.max()) < 300


@torch.no_grad()
def test_predictor_crops_padding_and_resizes_to_original_size():
    config = Configer({"test": {"mode": "ms_test", "scale_search": [0.75, 1.0],
                                "data_transformer": {"size_mode": "diverse_size",
                                                     "fit_stride": 8}}})
    predictor = Predictor(config, "test")
    meta = {"border_size": (30, 41), "ori_size": (60, 82)}
    out = predictor(micro_model(), torch.randn(3, 30, 41), meta)
    assert out.shape == (4, 60, 82)


@torch.no_grad()
def test_predictor_slides_with_the_configured_crop():
    config = Configer({"test": {"mode": "sscrop_test", "crop_size": [32, 24],
                                "data_transformer": {"size_mode": "diverse_size"}}})
    predictor = Predictor(config, "test")
    assert predictor.crop_hw == (24, 32)
    out = predictor(micro_model(), torch.randn(3, 30, 41), {"border_size": (30, 41),
                                                            "ori_size": (30, 41)})
    assert out.shape == (4, 30, 41)
    config.set("test.crop_size", [30, 24])
    with pytest.raises(ValueError, match=r"crop size \[24, 30\]"):
        Predictor(config, "test")
