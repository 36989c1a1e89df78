"""Teams, employees, their selfies, generation requests (a status machine with progress) and headshots."""
from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models
from django.db.models import Q

from brand_kits.models import BrandKitVersion
from tenancy.models import TenantModel


class Team(TenantModel):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="unique_team_name_per_org")]

    def __str__(self) -> str:
        return self.name


TITLE_MAX_LENGTH = 200
DEPARTMENT_MAX_LENGTH = 200
EMPLOYEE_NUMBER_MAX_LENGTH = 64
MANAGER_NAME_MAX_LENGTH = 200


class Employee(TenantModel):
    name = models.CharField(max_length=200)
    email = models.EmailField()
    # The HRIS's id for this person (what exports and the directory API are keyed by).
    external_id = models.CharField(max_length=200, blank=True)
    # Other systems' ids, e.g. {"workday": "...", "entra": "..."}.
    external_ids = models.JSONField(default=dict, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="employees")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="employee_records")
    # Directory facts HR wants in exports and the people table (SCIM: title and the enterprise extension).
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    department = models.CharField(max_length=DEPARTMENT_MAX_LENGTH, blank=True)
    employee_number = models.CharField(max_length=EMPLOYEE_NUMBER_MAX_LENGTH, blank=True)
    # The manager's own employee record when the directory names one of this organization's people (SCIM
    # manager.value is their id); manager_name is the name the directory gave, kept for managers who aren't here.
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    manager_name = models.CharField(max_length=MANAGER_NAME_MAX_LENGTH, blank=True)
    # False once the company's directory (SCIM) or an admin deactivates the person: no access, no photo pushes.
    active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "email"], name="unique_employee_email_per_org"),
            models.UniqueConstraint(fields=["organization", "external_id"], condition=~Q(external_id=""),
                                    name="unique_employee_external_id_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def manager_display(self) -> str:
        """The manager's name: their employee record's when linked, else the name the directory gave."""
        return self.manager.name if self.manager_id else self.manager_name


def selfie_upload_to(instance: Selfie, filename: str) -> str:
    # Named by checksum: the stored original is never altered or overwritten.
    return (f"orgs/{instance.organization_id}/employees/{instance.employee_id}/selfies/"
            f"{instance.checksum}{instance.extension}")


class Selfie(TenantModel):
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="selfies")
    file = models.FileField(upload_to=selfie_upload_to, max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    extension = models.CharField(max_length=10, blank=True)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the uploaded bytes")
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Image measurements from selfie QC (sharpness, exposure, pose angles, perceptual hash): not biometric.
    qc = models.JSONField(default=dict, blank=True)
    # Whether the set-level checks (same person, near-duplicates) currently count this photo in the set.
    in_set = models.BooleanField(default=True)
    set_reasons = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["employee", "checksum"], name="one_copy_of_each_selfie")]


# Biometric data (face embeddings) lives only in the two tables below, so it can be deleted on its own
# (consent withdrawn, retention expired) without touching the photos' other records.


class SelfieEmbedding(TenantModel):
    selfie = models.OneToOneField(Selfie, on_delete=models.CASCADE, related_name="embedding")
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=64)
    vector = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)


class IdentityProfile(TenantModel):
    """The robust centre of an employee's accepted selfies' embeddings: what outputs are judged against."""

    employee = models.OneToOneField(Employee, on_delete=models.CASCADE, related_name="identity_profile")
    model = models.CharField(max_length=64)
    # inference.identity.IdentityProfile.as_dict(): centre, radius, spread, count, members (selfie ids), threshold.
    profile = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


# The status machine: a request moves only along these edges. failed -> queued is a retry.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestStatus.PENDING: frozenset({RequestStatus.QUEUED, RequestStatus.FAILED}),
    RequestStatus.QUEUED: frozenset({RequestStatus.RUNNING, RequestStatus.FAILED}),
    RequestStatus.RUNNING: frozenset({RequestStatus.DONE, RequestStatus.FAILED, RequestStatus.QUEUED}),
    RequestStatus.DONE: frozenset(),
    RequestStatus.FAILED: frozenset({RequestStatus.QUEUED}),
}


class GenerationRequest(TenantModel):
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="generation_requests")
    brand_kit_version = models.ForeignKey(BrandKitVersion, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    # The exact selfies this request was made from.
    selfies = models.ManyToManyField(Selfie, related_name="+")
    seed = models.BigIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    selfies_accepted = models.PositiveIntegerField(default=0)
    selfies_rejected = models.PositiveIntegerField(default=0)
    # Per-selfie verdicts from the pipeline: [{"selfie_id", "accepted", "reasons", "messages"}].
    selfie_verdicts = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when an admin asked for this request from the review queue: the headshot it replaces and why.
    regenerated_from = models.ForeignKey("Headshot", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="regenerations")
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


def headshot_upload_to(instance: Headshot, filename: str) -> str:
    return (f"orgs/{instance.organization_id}/employees/{instance.employee_id}/headshots/"
            f"{instance.request_id}/{filename}")


# The stored fields a delivered rendition depends on (its files, their size, the face placement, the backend).
HEADSHOT_CONTENT_FIELDS = frozenset({"file", "width", "height", "renditions", "qc", "variant_params"})


def headshot_content_tag(headshot: Headshot) -> str:
    """A digest of what a delivered rendition of this headshot depends on: the pull API's ETags derive from it.

    Kept on the row (Headshot.content_tag) so that a page of 100 people needs no JSON decoding and no hashing of
    nested data per person. Computed from the fields, not the face position derived from them: any change that
    could move the crop changes the tag, which is all an ETag needs.
    """
    params = headshot.variant_params or {}
    identity = [headshot.file.name, headshot.width, headshot.height, sorted((headshot.renditions or {}).items()),
                (headshot.qc or {}).get("face_box"), params.get("face_box"), params.get("framing"),
                params.get("backend")]
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


class Headshot(TenantModel):
    request = models.ForeignKey(GenerationRequest, on_delete=models.CASCADE, related_name="headshots")
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="headshots")
    brand_kit_version = models.ForeignKey(BrandKitVersion, on_delete=models.PROTECT, related_name="+")
    source_selfie = models.ForeignKey(Selfie, null=True, on_delete=models.SET_NULL, related_name="headshots")
    variant = models.CharField(max_length=64)
    # Everything needed to make it again: seed, brand version, framing numbers.
    variant_params = models.JSONField(default=dict)
    # "<request id>:<selfie id>:<variant>": a retried job finds the row instead of storing a duplicate.
    idempotency_key = models.CharField(max_length=200)
    file = models.FileField(upload_to=headshot_upload_to, max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # {"<width>": "<storage path>"} for each rendition.
    renditions = models.JSONField(default=dict)
    qc = models.JSONField(default=dict)
    qc_passed = models.BooleanField(default=False)
    # Rank among this request's variants (1 = best) and the score it was ranked by.
    rank = models.PositiveIntegerField(null=True, blank=True)
    rank_score = models.FloatField(null=True, blank=True)
    selected = models.BooleanField(default=False)
    approved = models.BooleanField(default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    # HR review (teams/review.py): pending until an admin approves, rejects or asks for a regeneration.
    review_status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # headshot_content_tag() of the fields above, kept in step by save(). Rows are not rewritten in place (a new
    # result is a new row with new file names); bulk_create callers set it themselves.
    content_tag = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["rank", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "idempotency_key"], name="one_headshot_per_idempotency_key")
        ]

    def save(self, *args, **kwargs):
        self.content_tag = headshot_content_tag(self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and HEADSHOT_CONTENT_FIELDS.intersection(update_fields):
            kwargs["update_fields"] = {*update_fields, "content_tag"}
        super().save(*args, **kwargs)
