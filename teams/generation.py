"""Run one generation request through the Ray pool and store its results, idempotently."""
from __future__ import annotations

import io
import json
import logging
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.dispatch import Signal
from PIL import Image

from audit.services import generation_inputs_read
from brand_kits.services import brand_spec_for
from consent.services import NO_CONSENT_MESSAGE, consent_current
from inference.request import (
    DoneHeadshot,
    GenerationInput,
    GenerationPlan,
    GenerationRanking,
    HeadshotOutput,
    HeadshotRank,
    SelfieInput,
    SelfieVerdict,
)
from ray_cluster.pool import PoolConfig, shared_pool

from .models import GenerationRequest, Headshot, IdentityProfile, RequestStatus, Selfie
from .transitions import request_transition

log = logging.getLogger(__name__)


def pipeline_options() -> dict:
    """Keyword arguments of the actors' pipeline: the backend router gets the deployment's backend settings."""
    options = {}
    if settings.RAY_PIPELINE == "inference.backends:BackendRouter":
        options = {"default_backend": settings.INFERENCE_BACKEND, "model_store": settings.MODEL_STORE,
                   "device": settings.DIFFUSION_DEVICE, "dtype": settings.DIFFUSION_DTYPE,
                   "diffusion_variant": settings.DIFFUSION_VARIANT, "face_mode": settings.DIFFUSION_FACE_MODE,
                   "portrait_matte_model": settings.PORTRAIT_MATTE_MODEL}
    options.update(json.loads(settings.RAY_PIPELINE_OPTIONS))
    return options


def pool_config() -> PoolConfig:
    return PoolConfig(
        address=settings.RAY_ADDRESS,
        num_actors=settings.RAY_NUM_ACTORS,
        num_cpus_per_actor=settings.RAY_NUM_CPUS_PER_ACTOR,
        num_gpus_per_actor=settings.RAY_NUM_GPUS_PER_ACTOR,
        local_num_cpus=settings.RAY_LOCAL_NUM_CPUS,
        object_store_mb=settings.RAY_OBJECT_STORE_MB,
        pipeline=settings.RAY_PIPELINE,
        pipeline_options=tuple(sorted(pipeline_options().items())),
        max_restarts=settings.RAY_MAX_RESTARTS,
        max_task_retries=settings.RAY_MAX_TASK_RETRIES,
        batch_size=settings.RAY_BATCH_SIZE,
        max_in_flight=settings.RAY_MAX_IN_FLIGHT,
        batch_timeout_s=settings.RAY_BATCH_TIMEOUT_SECONDS,
    )


# Hooks for apps that schedule requests (rollouts): `generation_may_start` receivers may return a reason to hold a
# queued request (it stays queued, the job ends); `generation_finished` is sent once a request is done or failed.
generation_may_start = Signal()
generation_finished = Signal()


# Colleagues' identity profiles sent with a request, so each output is checked to be nearer its own person.
OTHER_PROFILES_MAX = 20


def idempotency_key(request_id: int, variant: str) -> str:
    # The variant as planned (before any regeneration): a rerun of the same request plans the same names.
    return f"{request_id}:{variant}"


def generation_run(request_id: int) -> GenerationRequest:
    """The body of the generate_headshots job. Safe to run again: finished work is found, not redone or duplicated."""
    with transaction.atomic():
        request = GenerationRequest.objects.select_for_update().get(pk=request_id)
        if request.status in (RequestStatus.DONE, RequestStatus.FAILED):
            return request
        if consent_current(request.employee) is None:
            # Consent was withdrawn after the request was made: fail it for good (no retry), never process.
            request_transition(request, RequestStatus.FAILED, error=NO_CONSENT_MESSAGE)
            transaction.on_commit(lambda: generation_finished.send(sender=GenerationRequest, request=request))
            return request
        if request.status == RequestStatus.QUEUED and any(
                reason for _, reason in generation_may_start.send(sender=GenerationRequest, request=request)):
            return request  # held (e.g. its rollout is paused): whoever holds it sends it again
        request_transition(request, RequestStatus.RUNNING, attempts=request.attempts + 1, error="")

    request = GenerationRequest.objects.select_related("brand_kit_version__kit", "employee").get(pk=request_id)
    selfies = list(request.selfies.order_by("id"))
    spec = brand_spec_for(request.brand_kit_version)
    stored = list(Headshot.objects.filter(request=request).order_by("id"))
    if len(stored) >= spec.variants_per_person and all(h.rank is not None for h in stored):
        # A previous attempt stored and ranked everything and died before marking the request done.
        return _finished(_finish(request))

    inputs = GenerationInput(
        selfies=tuple(SelfieInput(name=str(s.pk), data=_read(s)) for s in selfies),
        brand=spec,
        seed=request.seed,
        ranking=request.brand_kit_version.kit.ranking_state or None,
        other_profiles=_colleague_profiles(request),
        # What an earlier attempt stored is ranked with the rest, not made again.
        done=tuple(_done(headshot) for headshot in stored),
    )
    generation_inputs_read(generation=request, selfies=selfies, colleague_profiles=inputs.other_profiles)
    # Each headshot is stored (and counted in progress_done) as soon as its actor made it; ranks come last.
    for event in shared_pool(pool_config()).stream(inputs):
        if isinstance(event, HeadshotOutput):
            _store_headshot(request, event)
        elif isinstance(event, GenerationPlan):
            _store_verdicts(request, event.selfies, planned=len(event.planned))
        elif isinstance(event, GenerationRanking):
            _store_verdicts(request, event.selfies)
            _store_ranks(request, event.ranks)
    return _finished(_finish(request))


def _done(headshot: Headshot) -> DoneHeadshot:
    return DoneHeadshot(requested_variant=headshot.idempotency_key.split(":", 1)[1], variant=headshot.variant,
                        params=headshot.variant_params, qc=headshot.qc, passed=headshot.qc_passed)


def _finished(request: GenerationRequest) -> GenerationRequest:
    generation_finished.send(sender=GenerationRequest, request=request)
    return request


def _colleague_profiles(request: GenerationRequest) -> dict[str, tuple[float, ...]]:
    profiles = (IdentityProfile.objects.for_organization(request.organization)
                .exclude(employee_id=request.employee_id).order_by("-updated_at")[:OTHER_PROFILES_MAX])
    return {f"employee-{p.employee_id}": tuple(p.profile["centre"]) for p in profiles}


def _read(selfie: Selfie) -> bytes:
    with selfie.file.open("rb") as handle:
        return handle.read()


def _store_verdicts(request: GenerationRequest, verdicts: tuple[SelfieVerdict, ...], *,
                    planned: int | None = None) -> None:
    accepted = [v for v in verdicts if v.accepted]
    request.selfie_verdicts = [
        {"selfie_id": int(v.name), "accepted": v.accepted, "reasons": list(v.reasons), "messages": list(v.messages)}
        for v in verdicts
    ]
    request.selfies_accepted = len(accepted)
    request.selfies_rejected = len(verdicts) - len(accepted)
    fields = ["selfie_verdicts", "selfies_accepted", "selfies_rejected"]
    if planned is not None:
        # The whole set as planned (an earlier attempt's stored headshots included): the bar's end.
        request.progress_total = planned
        fields.append("progress_total")
    request.save(update_fields=fields)


def _store_ranks(request: GenerationRequest, ranks: tuple[HeadshotRank, ...]) -> None:
    by_variant = {rank.variant: rank for rank in ranks}
    headshots = list(Headshot.objects.filter(request=request))
    for headshot in headshots:
        rank = by_variant.get(headshot.variant)
        headshot.rank, headshot.rank_score = (rank.rank, rank.score) if rank else (None, None)
    Headshot.objects.bulk_update(headshots, ["rank", "rank_score"])


def _store_headshot(request: GenerationRequest, result: HeadshotOutput) -> Headshot | None:
    key = idempotency_key(request.pk, result.qc.get("requested_variant", result.variant))
    if Headshot.objects.filter(organization_id=request.organization_id, idempotency_key=key).exists():
        return None
    stem = f"{result.source}-{result.variant}"
    headshot = Headshot(
        organization_id=request.organization_id, request=request, employee_id=request.employee_id,
        brand_kit_version_id=request.brand_kit_version_id, source_selfie_id=int(result.source),
        variant=result.variant, variant_params=result.params, idempotency_key=key, qc=result.qc,
        qc_passed=result.passed, width=0, height=0, rank=result.rank, rank_score=result.ranking_score,
    )
    written: list[str] = []
    try:
        headshot.file.name = _save_new_file(
            headshot.file.field.generate_filename(headshot, f"{stem}.png"), result.image, written)
        with Image.open(io.BytesIO(result.image)) as im:
            headshot.width, headshot.height = im.size
        for rendition in result.renditions:
            ext = "jpg" if rendition.format.upper() == "JPEG" else rendition.format.lower()
            headshot.renditions[str(rendition.width)] = _save_new_file(
                f"{headshot.file.name.rsplit('/', 1)[0]}/{stem}-{rendition.width}.{ext}", rendition.data, written)
        with transaction.atomic():
            headshot.save()
            GenerationRequest.objects.filter(pk=request.pk).update(progress_done=F("progress_done") + 1)
    except IntegrityError:
        # Another attempt stored this (request, selfie, variant) first: keep theirs, drop our files.
        for name in written:
            default_storage.delete(name)
        return None
    except Exception:
        for name in written:
            default_storage.delete(name)
        raise
    return headshot


def _save_new_file(name: str, data: bytes, written: list[str]) -> str:
    """Store bytes under a name no other attempt uses, so that a failed write (a full disk) can remove exactly its
    own partial file; the stored name is appended to `written` for the caller's clean-up."""
    stem, dot, ext = name.rpartition(".")
    name = f"{stem}-{secrets.token_hex(4)}{dot}{ext}"
    try:
        stored = default_storage.save(name, ContentFile(data))
    except Exception:
        if default_storage.exists(name):
            default_storage.delete(name)
        raise
    written.append(stored)
    return stored


def _finish(request: GenerationRequest) -> GenerationRequest:
    request.refresh_from_db()
    stored = request.headshots.count()
    if stored == 0:
        reasons = sorted({r for v in request.selfie_verdicts for r in v["reasons"]})
        return request_transition(
            request, RequestStatus.FAILED, progress_done=0,
            error="No selfie could be used" + (f" ({', '.join(reasons)})" if reasons else "") +
                  ". Upload clear, well-lit photos with only your face in them.")
    return request_transition(request, RequestStatus.DONE, progress_done=stored)


def generation_attempt_failed(request_id: int, error: str, final: bool) -> None:
    """Record why an attempt failed: back to queued while retries remain, failed (and retryable) after the last."""
    with transaction.atomic():
        request = GenerationRequest.objects.select_for_update().get(pk=request_id)
        if request.status not in (RequestStatus.RUNNING, RequestStatus.QUEUED):
            return
        if final:
            request_transition(request, RequestStatus.FAILED, error=error)
            transaction.on_commit(lambda: generation_finished.send(sender=GenerationRequest, request=request))
        else:
            request_transition(request, RequestStatus.QUEUED, error=f"Retrying after an error: {error}")
