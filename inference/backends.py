"""What a worker holds: the studio pipeline, and the generative backends its model store has models for.

Each request goes to its brand kit's backend, or to the deployment's default when the kit says "default". All are
loaded once, when the worker (a Ray actor) starts, and stay resident; the generative backends share the studio
pipeline's models for selfie QC, finishing and output QC.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .diffusion.model_store import KLEIN_MODELS, ModelStore
from .errors import InputError
from .matting import DEFAULT_MODEL_PATH
from .pipeline import HeadshotPipeline
from .request import GenerationEvent, GenerationInput, GenerationOutput
from .streaming import generation_events

BACKENDS = ("studio", "klein", "diffusion")
FETCH_HINT = "fill MODEL_STORE with deploy/fetch_models.py"


class BackendRouter:
    def __init__(self, *, default_backend: str = "studio", model_store: str | None = None, device: str = "cpu",
                 dtype: str = "float32", diffusion_variant: str = "lightning", face_mode: str = "keep",
                 diffusion_options: dict | None = None, klein_options: dict | None = None,
                 portrait_matte_model: str | None = str(DEFAULT_MODEL_PATH)) -> None:
        if default_backend not in BACKENDS:
            raise InputError(f"default_backend must be one of {', '.join(BACKENDS)}")
        if default_backend != "studio" and not model_store:
            raise InputError(f"the {default_backend} backend needs a model store (MODEL_STORE); see "
                             f"deploy/fetch_models.py")
        self.default_backend = default_backend
        self.studio = HeadshotPipeline(portrait_matte_model=portrait_matte_model or None)
        self.klein = None
        self.diffusion = None
        self.missing: dict[str, str] = {}
        if not model_store:
            return
        store = ModelStore(model_store)
        # The default backend always loads (a missing model is a loud error at start); the other one loads when the
        # store has its models, so a store filled with the commercial default (klein) doesn't need SDXL.
        if default_backend == "klein" or all(store.has(name) for name in KLEIN_MODELS):
            from .diffusion.klein import KleinBackend  # lazy: torch, only with klein's models
            from .diffusion.klein_model import KleinConfig  # lazy: as above

            options = dict(store=Path(model_store), device=device, dtype=dtype)
            options.update(klein_options or {})
            self.klein = KleinBackend(KleinConfig(**options).check(), pipeline=self.studio)
        else:
            self.missing["klein"] = f"the model store has no {', '.join(KLEIN_MODELS)}"
        if default_backend == "diffusion" or store.has("sdxl-base") or store.has("sdxl-turbo"):
            from .diffusion.backend import DiffusionBackend  # lazy: torch and diffusers, only with SDXL's models
            from .diffusion.components import DiffusionConfig  # lazy: as above

            # "keep" is the commercially safe SDXL mode (see inference/diffusion/README.md): no identity adapter.
            options = dict(store=Path(model_store), device=device, dtype=dtype, variant=diffusion_variant,
                           face_mode=face_mode, identity_adapter=None if face_mode == "keep" else "ip-adapter-faceid")
            options.update(diffusion_options or {})
            self.diffusion = DiffusionBackend(DiffusionConfig(**options).check(), pipeline=self.studio)
        else:
            self.missing["diffusion"] = "the model store has no SDXL base model"

    def backend_for(self, request: GenerationInput) -> str:
        chosen = request.brand.backend
        return self.default_backend if chosen == "default" else chosen

    def run(self, request: GenerationInput) -> GenerationOutput:
        return self._backend(request).run(request)

    def stream(self, request: GenerationInput) -> Iterator[GenerationEvent]:
        """Each headshot as it is made (the studio and klein stream; SDXL tells the set at the end)."""
        return generation_events(self._backend(request), request)

    def _backend(self, request: GenerationInput):
        name = self.backend_for(request)
        if name == "studio":
            return self.studio
        backend = self.klein if name == "klein" else self.diffusion
        if backend is None:
            reason = self.missing.get(name, "this deployment has no model store (set MODEL_STORE)")
            raise InputError(f"this brand kit asks for the {name} backend, but {reason}; {FETCH_HINT}")
        return backend
