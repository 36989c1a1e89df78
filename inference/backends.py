"""What a worker holds: the studio pipeline, and the diffusion backend where a model store is configured.

Each request goes to its brand kit's backend, or to the deployment's default when the kit says "default". Both are
loaded once, when the worker (a Ray actor) starts; the diffusion backend shares the studio pipeline's models for
selfie QC, finishing and output QC.
"""
from __future__ import annotations

from pathlib import Path

from .errors import InputError
from .pipeline import HeadshotPipeline
from .request import GenerationInput, GenerationOutput


class BackendRouter:
    def __init__(self, *, default_backend: str = "studio", model_store: str | None = None, device: str = "cpu",
                 dtype: str = "float32", diffusion_variant: str = "lightning", face_mode: str = "keep",
                 diffusion_options: dict | None = None) -> None:
        if default_backend not in ("studio", "diffusion"):
            raise InputError("default_backend must be 'studio' or 'diffusion'")
        if default_backend == "diffusion" and not model_store:
            raise InputError("the diffusion backend needs a model store (MODEL_STORE); see deploy/fetch_models.py")
        self.default_backend = default_backend
        self.studio = HeadshotPipeline()
        self.diffusion = None
        if model_store:
            from .diffusion.backend import DiffusionBackend
            from .diffusion.components import DiffusionConfig

            # "keep" is the commercially safe default (see inference/diffusion/README.md): no identity adapter.
            options = dict(store=Path(model_store), device=device, dtype=dtype, variant=diffusion_variant,
                           face_mode=face_mode, identity_adapter=None if face_mode == "keep" else "ip-adapter-faceid")
            options.update(diffusion_options or {})
            config = DiffusionConfig(**options)
            self.diffusion = DiffusionBackend(config.check(), pipeline=self.studio)

    def backend_for(self, request: GenerationInput) -> str:
        chosen = request.brand.backend
        return self.default_backend if chosen == "default" else chosen

    def run(self, request: GenerationInput) -> GenerationOutput:
        if self.backend_for(request) == "diffusion":
            if self.diffusion is None:
                raise InputError("this brand kit asks for the diffusion backend, but this deployment has no model "
                                 "store (set MODEL_STORE and run deploy/fetch_models.py)")
            return self.diffusion.run(request)
        return self.studio.run(request)
