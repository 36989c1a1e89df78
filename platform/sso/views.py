"""Public SSO pages: SP metadata, SP-initiated login, the ACS, email-code sign-in, invite links and logout."""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import client_ip
from tenancy.access import session_signed_in
from tenancy.models import Organization

from . import email_codes, invites, saml_login
from .services import SsoError, idp_config_get

logger = logging.getLogger(__name__)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
SESSION_EMAIL = "sso_login_email"
# An admin's test sign-in starts with this in its next URL; the ACS then keeps what the assertion carried in the
# session (under SESSION_TEST_REPORT) for the settings page to show.
TEST_MARKER = "sso_test=1"
SESSION_TEST_REPORT = "sso_test_report"


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` if it is a local path on this site, else the default landing page."""
    if candidate and candidate.startswith("/") and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts=set(), require_https=request.is_secure()):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    # The portal's base template reads request.organization (set by tenant views); these pages have none or
    # the one whose sign-in this is.
    request.organization = context.get("organization")
    return render(request, template, context, status=status)


def _error(request: HttpRequest, exc: SsoError, *, title: str | None = None, organization=None) -> HttpResponse:
    return _page(request, "sso/error.html", {"title": title or _("We couldn't sign you in"), "message": exc.message,
                                              "code": exc.code, "organization": organization},
                  status=exc.status)


def _sign_in(request: HttpRequest, user, next_url: str | None, *, method: str = "code",
             organization: Organization | None = None) -> HttpResponse:
    login(request, user, backend=MODEL_BACKEND)
    session_signed_in(request, method=method, organization=organization)
    request.session.pop(SESSION_EMAIL, None)
    return HttpResponseRedirect(safe_next(request, next_url))


# SAML ----------------------------------------------------------------------------------------------------------


@require_GET
def sp_metadata(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = get_object_or_404(Organization, slug=org_slug)
    try:
        saml = saml_login.sp_settings(organization, None)
    except SsoError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    metadata = saml.get_sp_metadata()
    errors = saml.validate_metadata(metadata)
    if errors:  # our own settings are wrong: a bug, but say so instead of serving bad metadata
        logger.error("SP metadata for %s invalid: %s", org_slug, errors)
        return HttpResponse(_("The service provider metadata is not available."), status=503,
                            content_type="text/plain; charset=utf-8")
    return HttpResponse(metadata, content_type="application/samlmetadata+xml")


@require_GET
@never_cache
def sso_start(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = get_object_or_404(Organization, slug=org_slug)
    try:
        url = saml_login.sso_login_url(organization=organization, request=request,
                                     next_url=safe_next(request, request.GET.get("next")))
    except SsoError as exc:
        return _error(request, exc, organization=organization)
    return HttpResponseRedirect(url)


@csrf_exempt  # the IdP's page POSTs here cross-site by design; the signed, single-use assertion is the proof
@require_POST
@never_cache
def acs(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = Organization.objects.filter(slug=org_slug).first()
    if organization is None:
        return _error(request, SsoError("no_organization", _("This sign-in address is not known."), 404))
    try:
        result = saml_login.sso_acs(organization=organization, request=request)
    except SsoError as exc:
        if TEST_MARKER in request.POST.get("RelayState", ""):
            request.session[SESSION_TEST_REPORT] = {"organization": organization.pk, "ok": False,
                                                    "code": exc.code, "message": exc.message}
        return _error(request, exc, organization=organization)
    response = _sign_in(request, result.user, result.next_url, method="sso", organization=organization)
    if TEST_MARKER in result.next_url:
        # Set after login(), which starts a fresh session when the IdP's user is not the one signed in here.
        request.session[SESSION_TEST_REPORT] = {
            "organization": organization.pk, "ok": True, "email": result.email, "name_id": result.name_id,
            "issuer": result.issuer, "attributes": result.attributes, "user": result.user.pk}
    return response


# Email and code ------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@csrf_protect
@never_cache
def login_page(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    context = {"next": next_url, "email": "", "error": ""}
    if request.method == "POST":
        email = (request.POST.get("email") or "").strip().lower()
        context["email"] = email
        try:
            validate_email(email)
        except ValidationError:
            context["error"] = _("Enter your work email address, like name@company.com.")
            return _page(request, "sso/login.html", context, status=400)
        organization = email_codes.login_code_request(email=email, ip=client_ip(request))
        if organization is not None:
            start = reverse("sso:start", kwargs={"org_slug": organization.slug})
            return HttpResponseRedirect(f"{start}?{urlencode({'next': safe_next(request, next_url)})}")
        request.session[SESSION_EMAIL] = email
        target = reverse("sso:login-code")
        return HttpResponseRedirect(f"{target}?{urlencode({'next': next_url})}" if next_url else target)
    return _page(request, "sso/login.html", context)


@require_http_methods(["GET", "POST"])
@csrf_protect
@never_cache
def login_code_page(request: HttpRequest) -> HttpResponse:
    email = request.session.get(SESSION_EMAIL)
    if not email:
        return redirect("sso:login")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    context = {"email": email, "next": next_url, "error": ""}
    if request.method == "POST":
        try:
            user = email_codes.login_with_code(email=email, code=request.POST.get("code", ""))
        except SsoError as exc:
            context["error"] = exc.message
            return _page(request, "sso/login_code.html", context, status=exc.status)
        return _sign_in(request, user, next_url)
    return _page(request, "sso/login_code.html", context)


@require_POST
@csrf_protect
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("sso:login")


# Invite links --------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@csrf_protect
@never_cache
def invite_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invite = invites.invite_for_token(token=token)
    except SsoError as exc:
        return _error(request, exc, title=_("This invite can't be used"))
    organization = invite.organization
    config = idp_config_get(organization)
    sso_url = (reverse("sso:start", kwargs={"org_slug": organization.slug})
               if config is not None and config.enabled else "")
    context = {"invite": invite, "organization": organization, "sso_url": sso_url, "step": "start", "error": ""}
    if request.method == "POST" and not sso_url:
        if request.POST.get("action") == "send":
            _invite, wait = invites.invite_code_send(token=token, ip=client_ip(request))
            context["step"] = "code"
            if wait:
                context["error"] = _("A code was sent a moment ago. Check your email, or ask for a new one in "
                                     "%(seconds)d seconds.") % {"seconds": wait}
                return _page(request, "sso/invite.html", context, status=429)
        else:
            context["step"] = "code"
            try:
                user = invites.invite_accept_with_code(token=token, code=request.POST.get("code", ""))
            except SsoError as exc:
                context["error"] = exc.message
                return _page(request, "sso/invite.html", context, status=exc.status)
            return _sign_in(request, user, None)
    return _page(request, "sso/invite.html", context)
