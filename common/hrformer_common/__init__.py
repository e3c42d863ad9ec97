"""Framework-free tooling shared by cls/, pose/ and seg/ (torch, numpy and the standard
library; onnxruntime / openvino only when chosen), installed from the repository's `common/`
(`make install`; elsewhere `pip install <repository>/common`).

    atomic       atomic file writes (temp, fsync, rename), stale temps removed
    benchmark    the speed table of a task's models: cases, interleaved rounds, ratio, CPU line
    checkpoint   weights-only loading of every released layout (or a URL), load reports,
                 fine-tuning loads, atomic saving
    cli          the inference and export commands' shared flags and bad-input exit
    dist         process group with a timeout, stalled-rank errors, rank and collectives
    export       ONNX export (dynamic or fixed height / width), checked under each runtime
    finite       NonFiniteLossError: stop at a NaN loss, never save non-finite weights
    flops        parameters and FLOPs in three conventions (the original's table reproduced)
    gpu_check    AMP / compiled / DDP training steps and SDPA kernels on CUDA (CPU stand-ins)
    hub          checkpoint URLs: downloaded once into torch's hub cache, hash prefix checked
    images       the images a command was given; reading one (a file, PIL image or array)
                 upright, 8-bit RGB/BGR
    model_card   what an exported ONNX file is (metadata), checked before it runs
    outputs      output paths checked before any work; unique result names
    reproduce    the reproduce-the-table command line
    rng          random state as weights-only data, for exact resumption
    runners      one Runner API on torch / ONNX Runtime / OpenVINO (named inputs, fp32 / bf16)
    tables       the tools' rows as JSON, and one table from several tools' files
    timing       one benchmark row measured in a process of its own
    tolerance    the one numerical tolerance (the fixtures')
    vendor       `make vendor`: the backbone core's copies in the subprojects, and their check
    testing      test helpers only (reference data, README and copy checks, a stalled rank)
"""
