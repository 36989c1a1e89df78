"""Routes of this app outside the tenant API (full paths from the site root): SAML endpoints and sign-in pages."""
from django.urls import path

from . import views

app_name = "sso"
urlpatterns: list = [
    path("sso/<slug:org_slug>/metadata", views.sp_metadata, name="metadata"),
    path("sso/<slug:org_slug>/login", views.sso_start, name="start"),
    path("sso/<slug:org_slug>/acs", views.acs, name="acs"),
    path("login", views.login_page, name="login"),
    path("login/code", views.login_code_page, name="login-code"),
    path("logout", views.logout_view, name="logout"),
    path("invite/<str:token>", views.invite_page, name="invite"),
]
