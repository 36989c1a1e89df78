"""The request's shape checked up front, naming the field: a malformed request is an InputError, not a bad photo."""
from __future__ import annotations

from typing import Any

import numpy as np

from .brand import BrandSpec, BrandSpecError
from .errors import InputError
from .identity import IdentityProfile
from .ranking import RankingModel
from .request import DoneHeadshot, GenerationInput, SelfieInput
from .variants import VariantSpec

MAX_SELFIES = 30


def check_inputs(request: GenerationInput) -> None:
    """Reject a malformed request up front, naming the field; bad photos are not errors here (see run())."""
    if not isinstance(request, GenerationInput):
        raise InputError(f"expected a GenerationInput, got {type(request).__name__}")
    if not isinstance(request.selfies, (tuple, list)) or not request.selfies:
        raise InputError("selfies must be a non-empty tuple of SelfieInput")
    if len(request.selfies) > MAX_SELFIES:
        raise InputError(f"selfies holds {len(request.selfies)} photos; at most {MAX_SELFIES} per run")
    names: set[str] = set()
    for position, selfie in enumerate(request.selfies):
        if not isinstance(selfie, SelfieInput):
            raise InputError(f"selfies[{position}] must be a SelfieInput, got {type(selfie).__name__}")
        if not isinstance(selfie.name, str) or not selfie.name:
            raise InputError(f"selfies[{position}].name must be a non-empty string")
        if selfie.name in names:
            raise InputError(f"selfies[{position}].name {selfie.name!r} is used twice; names must be unique")
        names.add(selfie.name)
        if not isinstance(selfie.data, (bytes, bytearray, memoryview)):
            raise InputError(f"selfies[{position}].data must be bytes, got {type(selfie.data).__name__}")
    if not isinstance(request.brand, BrandSpec):
        raise InputError(f"brand must be a BrandSpec, got {type(request.brand).__name__}")
    try:
        request.brand.check()
    except BrandSpecError as exc:
        raise InputError(f"brand is invalid: {exc}") from None
    if isinstance(request.seed, bool) or not isinstance(request.seed, int) or not 0 <= request.seed < 2**32:
        raise InputError("seed must be an integer from 0 to 2**32 - 1")
    try:
        RankingModel.from_dict(request.ranking)
    except ValueError as exc:
        raise InputError(f"ranking is invalid: {exc}") from None
    for name, other in dict(request.other_profiles or {}).items():
        try:
            profile_vector(other)
        except (ValueError, TypeError, KeyError):
            raise InputError(f"other_profiles[{name!r}] must be a 128-d embedding or an IdentityProfile dict") from None
    for position, done in enumerate(request.done):
        if not isinstance(done, DoneHeadshot):
            raise InputError(f"done[{position}] must be a DoneHeadshot, got {type(done).__name__}")
    for position, params in enumerate(request.reproduce):
        try:
            spec = VariantSpec.from_params(dict(params), request.brand)
        except (ValueError, TypeError) as exc:
            raise InputError(f"reproduce[{position}] is invalid: {exc}") from None
        if spec.source not in names:
            raise InputError(f"reproduce[{position}] names selfie {spec.source!r}, which is not in this request")


def profile_vector(value: Any) -> np.ndarray:
    """A person's profile centre from a 128-d embedding or an IdentityProfile (or its as_dict())."""
    if isinstance(value, IdentityProfile):
        value = value.centre
    elif isinstance(value, dict):
        value = IdentityProfile.from_dict(value).centre
    vector = np.asarray(value, dtype=np.float64)
    if vector.shape != (128,) or not np.isfinite(vector).all():
        raise ValueError("a profile must be 128 finite numbers")
    return vector
