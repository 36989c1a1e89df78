"""Routes of the server-rendered portals (full paths from the site root): the employee portal and, under
app/<org_slug>/admin/, the HR admin portal (portal.admin_urls). All names are in the "portal" namespace."""
from django.urls import include, path

from . import admin_urls

app_name = "portal"
urlpatterns: list = [
    path("app/<slug:org_slug>/admin/", include(admin_urls.urlpatterns)),
]
