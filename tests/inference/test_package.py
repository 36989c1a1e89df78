"""The inference package stands alone: no Django, and a cheap import for code that only needs its dataclasses."""
from __future__ import annotations

import json
import subprocess
import sys

from .conftest import REPO

MODULES = [
    "inference", "inference.brand", "inference.request", "inference.errors", "inference.ingest",
    "inference.face_detect", "inference.segmentation", "inference.framing", "inference.background",
    "inference.color", "inference.renditions", "inference.output_qc", "inference.pipeline", "inference.cli",
    "inference.checks", "inference.messages", "inference.inspection", "inference.regeneration",
]


def imported_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True,
                          timeout=120)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_inference_never_imports_django():
    modules = imported_after("\n".join(f"import {name}" for name in MODULES))
    assert not {m for m in modules if m == "django" or m.startswith("django.")}


def test_importing_the_dataclasses_does_not_load_the_models():
    modules = imported_after("import inference\nfrom inference.brand import BrandSpec\n"
                             "from inference.request import GenerationInput")
    assert not {"dlib", "mediapipe", "cv2", "torch"} & modules
