"""Who reaches a portal page of an organization: resolved once per request, the same way for both portals."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from sso.models import IdentityProviderConfig
from tenancy.access import AccessError, membership_resolve
from tenancy.models import Membership, Organization


def sign_in_again(request, org_slug: str):
    """A member whose session doesn't count for this organization (another organization's SSO, or SSO required)
    signs in again the way it asks: through its IdP when it has one on, else with a code."""
    organization = Organization.objects.get(slug=org_slug)
    sso_on = IdentityProviderConfig.objects.for_organization(organization).filter(enabled=True).exists()
    target = reverse("sso:start", kwargs={"org_slug": org_slug}) if sso_on else settings.LOGIN_URL
    return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")


def portal_member(request, org_slug: str | None) -> Membership | HttpResponse:
    """The visitor's membership of the organization in the URL, or the response that sends them to sign in:
    the login page when anonymous, the organization's own sign-in when theirs doesn't count there.
    Http404 for anyone else, so organization slugs can't be probed."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
    try:
        membership = membership_resolve(request=request, user=request.user, organization_slug=org_slug)
    except AccessError:
        return sign_in_again(request, org_slug)
    if membership is None:
        raise Http404(_("No such organization."))
    return membership
