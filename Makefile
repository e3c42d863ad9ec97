# HRFormer re-implementation: environment, tests and demos (GNU make).
#
#   make install            create .venv and install everything (once; then a no-op)
#   make test               run the tests of cls/, pose/ and seg/
#   make demo               run the demos (model/speed tables, then cls, pose, seg training)
#   make test TASK=pose     only one subproject (TASK = cls | pose | seg)
#   make demo TASK=cls
#   make vendor             copy the backbone core common/hrformer.py into cls/, pose/, seg/
#   make bench              one speed table of the cls, pose and seg models (quick settings;
#                           BENCH_ARGS="..." for others, see README, Speed)
#   make flops              one table of their parameters and FLOPs
#   make gpu-check          AMP / SDPA / compile / DDP checks and the benchmark on CUDA
#                           (without CUDA: says so, runs the CPU equivalents, exits 0)
#   (bench, flops and gpu-check take TASK=cls|pose|seg too)
#   make clean              remove generated outputs (keeps .venv)

SHELL  := /bin/bash
PYTHON ?= python3

VENV  := .venv
PY    := $(CURDIR)/$(VENV)/bin/python
PIP   := $(PY) -m pip
STAMP := $(VENV)/.installed

TASKS      := cls pose seg
# subprojects that have a demo-<task> block below
DEMO_TASKS := cls pose seg
TASK       ?= all

selected = $(if $(filter all,$(TASK)),$(1),$(TASK))

.PHONY: install test demo demo-cls demo-seg demo-pose vendor bench flops gpu-check clean

# ---------------------------------------------------------------------------
# install
#
# The stamp file makes a second `make install` a no-op; editing
# requirements.txt or this Makefile triggers a reinstall (pip skips whatever is
# already satisfied, so that is quick too).

install: $(STAMP)

MMCV_OPS_PLACEHOLDER := pose/hrformer_pose/mmcv_ops_placeholder.py

$(STAMP): requirements.txt Makefile common/pyproject.toml $(MMCV_OPS_PLACEHOLDER)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
# torch first (the largest download), at the versions pinned in
# requirements.txt, used here as a constraints file.
	$(PIP) install -c requirements.txt torch torchvision
	$(PIP) install -r requirements.txt
# mmpose declares `chumpy`, which does not build; mmpose imports mmdet in a
# few places. Their real runtime dependencies are in requirements.txt.
	$(PIP) install --no-deps mmpose==1.3.2 mmdet==3.3.0
# Decision: keep numpy 2. The xtcocotools wheel on PyPI is compiled against
# numpy 1 and fails to import under numpy 2, so compile it here against the
# installed numpy (needs numpy and cython from requirements.txt, hence no
# build isolation).
	$(PIP) install --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
# Decision: mmcv-lite has no compiled ops, and mmpose imports `mmcv.ops` at module level. A
# `.pth` line registers the placeholder for `mmcv.ops` at interpreter start, so
# `from mmpose.apis import ...` works as the first import (see README, environment decisions).
	site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
	cp $(MMCV_OPS_PLACEHOLDER) $$site/hrformer_mmcv_ops_placeholder.py && \
	echo 'import hrformer_mmcv_ops_placeholder; hrformer_mmcv_ops_placeholder.register()' \
	  > $$site/hrformer_mmcv_ops_placeholder.pth
# The shared package, editable: the subprojects import it as mmpose imports mmengine.
	$(PIP) install --no-build-isolation --no-deps -e common
	touch $@

# ---------------------------------------------------------------------------
# vendor: common/hrformer.py is the one source of the backbone core; each subproject's copy
# is committed and checked by its tests (the rest of common/ is the installed package).

vendor:
	cd common && $(PYTHON) -m hrformer_common.vendor --repo $(CURDIR)

# ---------------------------------------------------------------------------
# test
#
# One pytest process per subproject: their top-level import names collide.
# All selected subprojects run even if one fails; the target fails at the end
# if any of them failed.

test: install
	@failed=""; \
	for t in $(call selected,$(TASKS)); do \
	  echo "=== $$t: pytest ==="; \
	  (cd $$t && $(PY) -m pytest -q -p no:cacheprovider tests) || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "all tests passed: $(call selected,$(TASKS))"

# ---------------------------------------------------------------------------
# demo

demo: $(addprefix demo-,$(call selected,$(DEMO_TASKS)))

demo-cls: install
	@echo "=== cls: parameters and FLOPs of the classifiers ==="
	cd cls && $(PY) tools/flops.py
	@echo "=== cls: HRFormer-S classifier speed per backend (batch 2, 224x224) ==="
	cd cls && $(PY) tools/benchmark.py --models hrt_small --modes forward \
	  --backends eager onnxruntime openvino --precisions fp32 bf16 --batch-size 2
	@echo "=== cls: train and evaluate a small HRFormer on scikit-learn's digits ==="
	cd cls && $(PY) tools/demo.py

demo-pose: install
	@echo "=== pose: parameters and FLOPs of the top-down models ==="
	cd pose && $(PY) tools/flops.py
	@echo "=== pose: train and evaluate HRFormer on generated stick figures (COCO format) ==="
	cd pose && $(PY) tools/demo.py
	@echo "=== pose: the trained model on a generated video (boxes from its ground truth) ==="
	cd pose && rm -rf work_dirs/demo/video && \
	  $(PY) demo/stick_video.py work_dirs/demo/video/input && \
	  $(PY) demo/inferencer_demo.py work_dirs/demo/video/input/walk.mp4 \
	    --model configs/demo/hrt_demo_stick_figures_128x96.py \
	    --checkpoint "$$(cat work_dirs/demo/last_checkpoint)" \
	    --det boxes:work_dirs/demo/video/input/walk_boxes.json --det-every 3 \
	    --out work_dirs/demo/video --threads 1

demo-seg: install
	@echo "=== seg: train and evaluate HRFormer + OCR on generated scenes ==="
	cd seg && $(PY) tools/demo.py

demo-%:
	@echo "no demo for '$*' (available: $(DEMO_TASKS))" >&2; exit 1

# ---------------------------------------------------------------------------
# bench, flops, gpu-check: each selected subproject's tools/<tool>.py writes its rows as JSON
# into a fresh folder (its own table goes to <task>.log there, shown if it fails), then
# hrformer_common.tables prints one table per kind from all of them. All subprojects run even
# if one fails; the target fails at the end if any of them (or a GPU check) failed.

BENCH_ARGS ?= --modes forward --batch-size 1 --iters 1 --warmup 1

# $(1): the tool, $(2): its arguments, $(3): more arguments naming files in $$out ($$t: task)
define run_tools
	@out=$$(mktemp -d) && failed="" && \
	for t in $(call selected,$(TASKS)); do \
	  echo "=== $$t: tools/$(1).py ===" >&2; \
	  (cd $$t && $(PY) tools/$(1).py $(2) --json $$out/$$t.json $(3) > $$out/$$t.log) \
	    || { cat $$out/$$t.log; failed="$$failed $$t"; }; \
	done; \
	$(PY) -m hrformer_common.tables $$out/*.json; status=$$?; \
	rm -rf $$out; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; exit $$status
endef

bench: install
	$(call run_tools,benchmark,$(BENCH_ARGS))

flops: install
	$(call run_tools,flops,)

gpu-check: install
	$(call run_tools,gpu_check,,--bench-json $$out/$$t.bench.json)

# ---------------------------------------------------------------------------
# clean: generated outputs only; .venv and downloaded checkpoints stay.

OUTPUT_DIRS := output outputs work_dirs logs runs demo_data

clean:
	rm -rf $(foreach d,. $(TASKS),$(addprefix $(d)/,$(OUTPUT_DIRS)))
	find . -path ./$(VENV) -prune -o \
	  \( -name __pycache__ -o -name .pytest_cache \) -type d -prune -exec rm -rf {} +
