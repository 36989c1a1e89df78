"""Tenant writes: creating an organization with its first owner, its settings, memberships and roles."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from audit.services import record_in_transaction
from config.errors import ServiceError

from .models import (
    BIOMETRIC_RETENTION_DAYS_MAX,
    BIOMETRIC_RETENTION_DAYS_MIN,
    ROLE_RANK,
    Membership,
    Organization,
    Role,
)


@transaction.atomic
def organization_create(*, name: str, owner) -> Organization:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    organization = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    return organization


class OrganizationSettingsError(ServiceError):
    def __init__(self, message: str):
        super().__init__("invalid_settings", message)


def organization_update_settings(*, organization: Organization, selfies_required: int | None = None,
                                 selfies_max: int | None = None, biometric_retention_days: int | None = None,
                                 name: str | None = None) -> Organization:
    required = organization.selfies_required if selfies_required is None else selfies_required
    maximum = organization.selfies_max if selfies_max is None else selfies_max
    if not 1 <= required <= maximum <= settings.SELFIES_LIMIT:
        raise OrganizationSettingsError(
            f"selfies_required and selfies_max must satisfy 1 <= required <= max <= {settings.SELFIES_LIMIT} "
            f"(got {required} and {maximum}).")
    retention = (organization.biometric_retention_days if biometric_retention_days is None
                 else biometric_retention_days)
    if not BIOMETRIC_RETENTION_DAYS_MIN <= retention <= BIOMETRIC_RETENTION_DAYS_MAX:
        raise OrganizationSettingsError(
            f"biometric_retention_days must be between {BIOMETRIC_RETENTION_DAYS_MIN} and "
            f"{BIOMETRIC_RETENTION_DAYS_MAX} days (BIPA allows at most 3 years; got {retention}).")
    name = organization.name if name is None else " ".join(name.split())
    if not 1 <= len(name) <= Organization._meta.get_field("name").max_length:
        raise OrganizationSettingsError("name must be 1 to 200 characters.")
    organization.selfies_required, organization.selfies_max = required, maximum
    organization.biometric_retention_days, organization.name = retention, name
    organization.save(update_fields=["selfies_required", "selfies_max", "biometric_retention_days", "name"])
    return organization


# Memberships and roles ---------------------------------------------------------------------------------------


class MembershipError(ServiceError):
    """A change to someone's membership or role was refused."""


def ensure_not_last_owner(*, organization: Organization, user_id: int | None) -> None:
    """Refuse (409) to end or lower the membership of the organization's last active owner: nobody could run it."""
    if user_id is None:
        return
    owners = Membership.objects.filter(organization=organization, role=Role.OWNER, user__is_active=True)
    if owners.filter(user_id=user_id).exists() and not owners.exclude(user_id=user_id).exists():
        raise MembershipError("last_owner", _("This person is the organization's last owner. Make someone else an "
                                              "owner first."), 409)


def _check_rank(*, actor: Membership, target: Membership, role: str | None = None) -> None:
    # Nobody acts on someone ranked above them, or raises anyone above their own role.
    if not actor.is_admin:
        raise MembershipError("forbidden", _("Only the organization's admins can change roles."), 403)
    if ROLE_RANK[target.role] > ROLE_RANK[actor.role]:
        raise MembershipError("forbidden", _("Only an owner can change an owner's membership."), 403)
    if role is not None and ROLE_RANK[role] > ROLE_RANK[actor.role]:
        raise MembershipError("forbidden", _("You can't give anyone a role above your own."), 403)


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, actor: Membership) -> Membership:
    """Grant or revoke admin (or owner); audited. The last owner can't be demoted."""
    if role not in Role.values:
        raise MembershipError("invalid_role", _("role must be one of %(roles)s.") % {"roles": ", ".join(Role.values)})
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _check_rank(actor=actor, target=membership, role=role)
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER:
        ensure_not_last_owner(organization=membership.organization, user_id=membership.user_id)
    previous, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    record_in_transaction(action="membership.role_changed", organization=membership.organization,
                          actor=actor.user, object=membership,
                          detail={"user_id": membership.user_id, "from": previous, "to": role})
    return membership


@transaction.atomic
def ownership_transfer(*, to: Membership, actor: Membership) -> Membership:
    """The acting owner makes `to` an owner and steps down to admin, in one change."""
    if actor.role != Role.OWNER:
        raise MembershipError("forbidden", _("Only an owner can transfer ownership."), 403)
    if to.pk == actor.pk:
        raise MembershipError("invalid_role", _("You already own this organization."))
    list(Membership.objects.select_for_update().filter(pk__in=[to.pk, actor.pk]))
    Membership.objects.filter(pk=to.pk).update(role=Role.OWNER)
    Membership.objects.filter(pk=actor.pk).update(role=Role.ADMIN)
    record_in_transaction(action="membership.ownership_transferred", organization=actor.organization,
                          actor=actor.user, object=to, detail={"from_user_id": actor.user_id, "to_user_id": to.user_id})
    to.refresh_from_db()
    return to


@transaction.atomic
def membership_end(*, organization: Organization, user_id: int | None, actor=None, reason: str) -> int:
    """End one person's membership of this organization (deactivated, deleted, removed): access ends at once,
    because every request resolves the membership. Their other organizations and their account are untouched."""
    if user_id is None:
        return 0
    ensure_not_last_owner(organization=organization, user_id=user_id)
    deleted, _rows = Membership.objects.filter(organization=organization, user_id=user_id).delete()
    if deleted:
        record_in_transaction(action="membership.ended", organization=organization, actor=actor,
                              object=("user", user_id), detail={"reason": reason})
    return deleted


def membership_remove(*, membership: Membership, actor: Membership) -> None:
    _check_rank(actor=actor, target=membership)
    membership_end(organization=membership.organization, user_id=membership.user_id, actor=actor.user,
                   reason="removed")
