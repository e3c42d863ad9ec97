"""lib.apis.SegInferencer and tools/predict.py on the images users bring: real photos, arrays,
PIL images, 16-bit, EXIF-rotated, gray, RGBA, tiny, a folder with a non-image, two images
sharing a name, a large photo in bounded memory (sliding window); bad input ending in
`predict.py: error:` with exit status 2."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from hrformer_common.testing import sample_photos
from lib.apis import SegInferencer, deploy
from lib.datasets import build_normalize
from lib.segmentor.inference import single_scale
from lib.utils.configer import Configer
from test_released_checkpoint import write_released_checkpoint
from tools import predict

SEG = Path(__file__).resolve().parents[1]
CITYSCAPES = SEG / "configs" / "cityscapes" / "H_48_D_4.json"
CITYSCAPES_IDS = {7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33}
# Row 13: the predict command on a 4000x3000 photo in slide mode stays below this peak
# resident memory (measured: 1.3 GB; whole mode needs 8.4 GB at this size).
SLIDE_PEAK_MB = 1600


def micro_args(layout: Path) -> list[str]:
    """The command-line flags of the micro segmentor (layout: the `micro_layout` fixture)."""
    return ["--backbone", str(layout), "--model_name", "hrt_small_ocr_v2"]


def small_photo(size=(96, 72)) -> np.ndarray:
    return np.asarray(Image.open(sample_photos()[1]).convert("RGB").resize(size))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, micro_layout) -> Path:
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("seg_infer") / "released.pth"
    write_released_checkpoint(path, micro_layout)
    return path


@pytest.fixture(scope="module")
def segment(micro_layout, checkpoint) -> SegInferencer:
    return SegInferencer(CITYSCAPES, str(checkpoint), model_name="hrt_small_ocr_v2",
                         backbone=str(micro_layout), threads=1)


def test_whole_mode_gives_the_argmax_of_the_network(micro_layout, segment, checkpoint):
    """Results of whole mode are those of the network over the normalised BGR image."""
    pixels = small_photo()
    result = segment(pixels, return_logits=True)
    net, _ = deploy.inference_model(CITYSCAPES, str(checkpoint), model_name="hrt_small_ocr_v2",
                                    backbone=str(micro_layout))
    x = build_normalize(Configer.from_file(CITYSCAPES))(pixels[:, :, ::-1]).unsqueeze(0)
    with torch.no_grad():
        logits = single_scale(lambda t: net(t)[:1], x)[0]   # `out`, the main logits
    np.testing.assert_allclose(result["logits"], logits.numpy(), rtol=0, atol=1e-4)
    assert result["logits"].dtype == np.float32 and result["logits"].shape == (19, 72, 96)
    train_ids = logits.argmax(0).numpy()
    np.testing.assert_array_equal(result["label"], segment.mapper.to_raw_ids(train_ids))
    assert set(np.unique(result["label"])) <= CITYSCAPES_IDS and result["label"].dtype == np.uint8


def test_slide_mode_labels_are_the_argmax_of_its_logits(micro_layout, segment, checkpoint):
    slide = SegInferencer(CITYSCAPES, str(checkpoint), model_name="hrt_small_ocr_v2",
                          backbone=str(micro_layout), threads=1, mode="slide", crop_size=(48, 64),
                          stride=(32, 40))
    result = slide(small_photo(), return_logits=True)
    assert result["logits"].shape == (19, 72, 96) and result["label"].shape == (72, 96)
    np.testing.assert_array_equal(result["label"],
                                  slide.mapper.to_raw_ids(result["logits"].argmax(0)))
    assert slide.mode_for((512, 512)) == "slide"
    assert (segment.crop_hw, segment.stride_hw) == ((512, 1024), (340, 680))  # training crop
    assert segment.mode_for((1024, 2048)) == "whole"     # auto: a Cityscapes frame whole,
    assert segment.mode_for((2048, 1025)) == "slide"     # anything larger in windows
    multi = SegInferencer(CITYSCAPES, str(checkpoint), model_name="hrt_small_ocr_v2",
                          backbone=str(micro_layout), threads=1, mode="slide", crop_size=(48, 64),
                          multi_scale=True, scales=[0.5, 1.0])
    assert multi(small_photo())["label"].shape == (72, 96)
    with pytest.raises(ValueError, match="crop_size and stride are the sliding window's"):
        SegInferencer(CITYSCAPES, str(checkpoint), mode="whole", crop_size=(48, 64))
    with pytest.raises(ValueError, match=r"crop size \[50, 64\]: expected height and width"):
        SegInferencer(CITYSCAPES, str(checkpoint), crop_size=(50, 64))


def test_one_window_over_the_image_loses_little_at_a_quarter_resolution(micro_layout, segment,
                                                                      checkpoint):
    """Slide mode averages at 1/4 and upsamples: with one window covering the image it agrees
    with whole mode on nearly every pixel."""
    one = SegInferencer(CITYSCAPES, str(checkpoint), model_name="hrt_small_ocr_v2",
                        backbone=str(micro_layout), threads=1, mode="slide", crop_size=(108, 160),
                        stride=(108, 160))
    photo = np.asarray(Image.open(sample_photos()[1]).convert("RGB").resize((160, 108)))
    whole, slide = segment(photo)["label"], one(photo)["label"]
    assert len(np.unique(whole)) > 2 and (whole == slide).mean() > 0.95


def test_paths_arrays_and_pil_images_give_the_same_result(segment, tmp_path):
    pixels = small_photo()
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    by_path = segment(tmp_path / "photo.png", return_overlay=True)
    assert by_path["label"].shape == (72, 96)
    assert set(by_path) == {"label", "classes", "overlay"}
    assert by_path["overlay"].shape == (72, 96, 3) and by_path["overlay"].dtype == np.uint8
    # the Cityscapes label ids found, named as the config's train ids
    names = Configer.from_file(CITYSCAPES).get("data.class_names")
    assert by_path["classes"] == {raw: names[segment.mapper.lut[raw]]
                                  for raw in np.unique(by_path["label"]).tolist()}
    results = segment([pixels, Image.open(tmp_path / "photo.png"), str(tmp_path / "photo.png")])
    assert len(results) == 3 and all(list(r) == ["label", "classes"] for r in results)
    for result in results:
        np.testing.assert_array_equal(result["label"], by_path["label"])
    with pytest.raises(ValueError, match=r"shape \(72, 96, 4\) and dtype uint8"):
        segment(np.zeros((72, 96, 4), np.uint8))


def test_16bit_png_gives_the_label_of_the_8bit_picture(segment, tmp_path):
    """Issue 16, row 1."""
    pixels = small_photo()
    Image.fromarray(pixels).save(tmp_path / "flat.png")
    cv2.imwrite(str(tmp_path / "deep.png"), pixels[:, :, ::-1].astype(np.uint16) * 257)
    deep, flat = segment(tmp_path / "deep.png"), segment(tmp_path / "flat.png")
    np.testing.assert_array_equal(deep["label"], flat["label"])
    assert not (flat["label"] == segment(np.full_like(pixels, 255))["label"]).all()


def test_exif_orientation_gives_results_at_the_displayed_size(segment, tmp_path):
    """Issue 16, row 2: stored 320 wide x 240 high, orientation 6: shown 240 x 320."""
    image = Image.fromarray(small_photo((320, 240)))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright = np.rot90(np.asarray(Image.open(tmp_path / "phone.jpg").convert("RGB")), k=-1)
    label = segment(tmp_path / "phone.jpg")["label"]
    assert label.shape == (320, 240)
    np.testing.assert_array_equal(label, segment(np.ascontiguousarray(upright))["label"])


def test_the_command_writes_what_the_api_returns(micro_layout, segment, checkpoint, tmp_path):
    """A folder of odd inputs: real photos, gray, RGBA, tiny, two images named `pic` (issue
    16, row 3: both kept), and a file that is not an image (skipped)."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    pixels = small_photo()
    for photo in sample_photos():
        (folder / "sub" / photo.name).write_bytes(photo.read_bytes())
    Image.fromarray(pixels).convert("L").save(folder / "gray.png")
    Image.fromarray(np.dstack([pixels, np.full((72, 96), 200, np.uint8)])).save(folder / "a.png")
    Image.fromarray(pixels[:3, :5]).save(folder / "tiny.png")
    Image.fromarray(pixels).save(folder / "pic.jpg", quality=90)
    Image.fromarray(pixels[::-1]).save(folder / "pic.png")
    (folder / "notes.txt").write_text("not an image")
    written, status = predict.main([str(folder), *micro_args(micro_layout), "--checkpoint",
                                    str(checkpoint), "--out", str(tmp_path / "out"),
                                    "--threads", "1"])
    assert status == 0
    names = sorted(str(p.relative_to(tmp_path / "out" / "label")) for p in written)
    assert names == ["a.png", "gray.png", "pic_jpg.png", "pic_png.png", "sub/china.png",
                     "sub/grace_hopper.png", "tiny.png"]
    sources = {"a.png": "a.png", "gray.png": "gray.png", "pic_jpg.png": "pic.jpg",
               "pic_png.png": "pic.png", "sub/china.png": "sub/china.jpg",
               "sub/grace_hopper.png": "sub/grace_hopper.jpg", "tiny.png": "tiny.png"}
    for name, source in sources.items():
        expected = segment(folder / source, return_overlay=True)
        for kind in ("label", "overlay"):
            saved = np.asarray(Image.open(tmp_path / "out" / kind / name))
            np.testing.assert_array_equal(saved, expected[kind], err_msg=f"{kind}/{name}")
    assert np.asarray(Image.open(tmp_path / "out" / "label" / "tiny.png")).shape == (3, 5)


def test_bad_input_on_the_command_line_exits_2_without_a_traceback(micro_layout, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "a_file").write_text("")
    done = subprocess.run(
        [sys.executable, "tools/predict.py", str(tmp_path / "a.png"), *micro_args(micro_layout),
         "--checkpoint", "missing.pth", "--out", str(tmp_path / "a_file" / "out")],
        cwd=SEG, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"predict.py: error: --out {tmp_path / 'a_file' / 'out'}: "
                                   f"{tmp_path / 'a_file'} is a file, not a folder")


# The command's peak memory: run as the child of a small Python process, which reads it with
# getrusage(RUSAGE_CHILDREN). (A process started by pytest itself would report pytest's own
# peak: Linux keeps the high-water mark of the memory a process had before exec.)
PEAK_MEMORY = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "tools/predict.py", *sys.argv[1:]])
print("peak-rss-kb", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def test_a_large_photo_is_segmented_in_bounded_memory(micro_layout, checkpoint, tmp_path):
    """Issue 16, row 13: a 4000x3000 photo with the micro model; `--mode auto` slides (here
    with windows side by side, the fewest forwards), the peak memory stays below
    SLIDE_PEAK_MB."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (376, 501, 3), dtype=np.uint8)
    Image.fromarray(coarse).resize((4000, 3000), Image.BILINEAR).save(tmp_path / "big.jpg")
    done = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY, str(tmp_path / "big.jpg"), *micro_args(micro_layout),
         "--checkpoint", str(checkpoint), "--out", str(tmp_path / "out"), "--threads", "1",
         "--stride", "512", "1024"],
        cwd=SEG, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mode auto (windows 512x1024 every 512x1024)" in done.stdout
    peak_mb = int(done.stdout.split("peak-rss-kb")[1]) / 1024
    label = np.asarray(Image.open(tmp_path / "out" / "label" / "big.png"))
    assert label.shape == (3000, 4000) and set(np.unique(label)) <= CITYSCAPES_IDS
    assert peak_mb < SLIDE_PEAK_MB, f"peak resident memory {peak_mb:.0f} MB"
