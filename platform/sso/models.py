"""SAML identity provider per organization, the SP's pending requests and replay cache, and one-time sign-in codes."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Invite
from tenancy.models import TenantModel


class IdentityProviderConfig(TenantModel):
    """The organization's IdP, as parsed from the metadata its admin uploaded. One per organization."""

    entity_id = models.CharField(max_length=1024)
    sso_url = models.URLField(max_length=1024)
    slo_url = models.URLField(max_length=1024, blank=True)
    # Base64 DER bodies of the IdP's signing certificates (several while the IdP rolls its key over).
    x509_certs = models.JSONField(default=list)
    metadata_xml = models.TextField(blank=True)
    # Which preset the mapping came from ("okta", "entra", "google", "custom") and the mapping itself:
    # {"email": attr, "first_name": attr, "last_name": attr, "display_name": attr, "groups": attr}.
    preset = models.CharField(max_length=16, default="custom")
    attribute_mapping = models.JSONField(default=dict)
    # Email domains whose people may get an account on first sign-in without an invite (just in time); each must
    # be one of the organization's verified domains, checked again on every use.
    allowed_domains = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=False)
    # IdP-initiated sign-in (from the IdP's app dashboard) has no request to answer; the organization may refuse it.
    allow_idp_initiated = models.BooleanField(default=True)
    # Whether the IdP signs whole responses too (assertions must be signed either way).
    want_messages_signed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="one_identity_provider_per_org")]


class PendingAuthnRequest(TenantModel):
    """An AuthnRequest we sent (SP-initiated): the response must answer it, once, soon."""

    request_id = models.CharField(max_length=128)
    next_url = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "request_id"],
                                               name="unique_authn_request_per_org")]


class ConsumedAssertion(TenantModel):
    """Replay cache: an assertion ID is accepted once per organization until its validity ends."""

    assertion_id = models.CharField(max_length=256)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "assertion_id"],
                                               name="unique_consumed_assertion_per_org")]
        indexes = [models.Index(fields=["expires_at"])]


class SsoIdentity(TenantModel):
    """The link between an identity at this organization's IdP (entity ID + NameID) and an account, made at the first
    sign-in. The IdP speaks for this organization only: the link opens nothing anywhere else."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities")
    idp_entity_id = models.CharField(max_length=1024)
    name_id = models.CharField(max_length=512)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "idp_entity_id", "name_id"],
                                    name="one_link_per_idp_subject"),
            models.UniqueConstraint(fields=["organization", "user"], name="one_idp_identity_per_user_and_org"),
        ]


class LoginCode(models.Model):
    """A 6-digit one-time sign-in code sent by email. Only its keyed hash is stored."""

    class Purpose(models.TextChoices):
        LOGIN = "login", "Sign in"
        INVITE = "invite", "Accept an invite"

    email = models.EmailField()
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    invite = models.ForeignKey(Invite, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    # Who asked: codes are limited per (address, IP), so a stranger can't lock the address's owner out.
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Set when the code is used or burnt (too many wrong tries, or a newer code replaced it).
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email", "purpose"]), models.Index(fields=["ip", "created_at"])]
