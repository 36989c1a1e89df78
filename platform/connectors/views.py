"""The employee's Slack OAuth v2 flow (user scope users.profile:write): start redirects to Slack, the callback keeps
the user token. Both need the signed-in employee; the state is signed and bound to the browser session (CSRF)."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from teams.models import Employee
from tenancy.access import AccessError, membership_resolve
from tenancy.models import Organization

from .clients import slack
from .services import ConnectorError, slack_configured, slack_connect, slack_state_check, slack_state_issue


def _redirect_uri() -> str:
    # From the configured public address, never the Host header: Slack must see the URI registered for the app.
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("connectors:slack-callback")


def _employee(request, organization: Organization) -> Employee:
    user = request.user
    try:
        membership = membership_resolve(request=request, user=user, organization_slug=organization.slug)
    except AccessError:
        membership = None
    if membership is None:
        raise Http404(_("No such organization."))
    employee = Employee.objects.for_organization(organization).filter(user=user, active=True).first()
    if employee is None:
        raise Http404(_("You have no employee profile in this organization."))
    return employee


def _result(request, *, ok: bool, message: str, status: int = 200):
    return render(request, "connectors/slack_result.html", {"ok": ok, "message": message}, status=status)


@require_GET
def slack_start(request, org_slug: str):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not slack_configured():
        raise Http404(_("Slack is not set up on this platform."))
    organization = Organization.objects.filter(slug=org_slug).first()
    if organization is None:
        raise Http404(_("No such organization."))
    _employee(request, organization)
    state = slack_state_issue(session=request.session, organization=organization, user_id=request.user.pk)
    return HttpResponseRedirect(slack.authorize_url(state=state, redirect_uri=_redirect_uri()))


@require_GET
def slack_callback(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not slack_configured():
        raise Http404(_("Slack is not set up on this platform."))
    if request.GET.get("error"):
        # The person pressed "Cancel" on Slack's consent page (error=access_denied): nothing to store.
        return _result(request, ok=False, message=_("Slack was not connected: %(error)s") % {
            "error": request.GET["error"][:100]}, status=400)
    code, state = request.GET.get("code", ""), request.GET.get("state", "")
    if not code or not state:
        return _result(request, ok=False, message=_("The Slack answer is missing its code or state."), status=400)
    try:
        organization_id = slack_state_check(session=request.session, state=state, user_id=request.user.pk)
        organization = Organization.objects.get(pk=organization_id)
        employee = _employee(request, organization)
        slack_connect(employee=employee, code=code, redirect_uri=_redirect_uri())
    except ConnectorError as exc:
        return _result(request, ok=False, message=exc.message, status=exc.status if exc.status < 500 else 502)
    return _result(request, ok=True, message=_("Slack is connected: your approved headshot becomes your Slack "
                                               "photo. You can close this page."))
