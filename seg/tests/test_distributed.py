"""Two gloo processes: 2 training iterations with DDP, then a sharded test whose confusion
matrix, reduced over both processes, must equal a single-process evaluation."""
import json
import os
import socket

import pytest
import torch.multiprocessing as mp

from helpers_train import eval_args, make_dataset, train_args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, args_train: list, args_test: list,
            out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    import torch
    torch.set_num_threads(1)   # two processes share the CPU cores; avoid oversubscription
    from main import main
    best = main(args_train)
    os.environ["MASTER_PORT"] = str(port + 1)
    result = main(args_test)
    with open(f"{out}/rank{rank}.json", "w") as f:
        json.dump({"best": best, "test": result}, f)


def test_two_process_gloo_training_and_reduced_confusion_matrix(tmp_path):
    data = make_dataset(tmp_path, num_train=4, num_val=3)
    ckpt_dir = tmp_path / "ckpt"
    best_ckpt = ckpt_dir / "demo_hrt_ocr_v2_max_performance.pth"
    args_train = train_args(data, ckpt_dir, max_iters=2, batch=2)
    args_test = eval_args(data, best_ckpt, tmp_path / "val_dist")
    port = _free_port()
    mp.spawn(_worker, args=(2, port, args_train, args_test, str(tmp_path)), nprocs=2)
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert results[0] == results[1]   # every process sees the reduced matrix

    from main import main
    single = main(eval_args(data, best_ckpt, tmp_path / "val_single"))
    assert results[0]["test"]["mIoU"] == pytest.approx(single["mIoU"], abs=1e-6)
    assert results[0]["test"]["pixel_acc"] == pytest.approx(single["pixel_acc"], abs=1e-6)
    assert results[0]["best"] == pytest.approx(single["mIoU"], abs=1e-6)
    # the 3 val images were split 2 + 1 between the processes and all were written
    assert len(list((tmp_path / "val_dist" / "label").glob("*.png"))) == 3
