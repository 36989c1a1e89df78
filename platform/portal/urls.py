"""Routes of the server-rendered portals (full paths from the site root): the employee portal and, under
app/<org_slug>/admin/, the HR admin portal (portal.admin_urls). All names are in the "portal" namespace."""
from django.urls import include, path

from . import admin_urls, views

app_name = "portal"
urlpatterns: list = [
    path("app/", views.OrganizationPicker.as_view(), name="orgs"),
    path("app/<slug:org_slug>/", views.HomeView.as_view(), name="home"),
    path("app/<slug:org_slug>/consent", views.ConsentView.as_view(), name="consent"),
    path("app/<slug:org_slug>/selfies", views.SelfiesView.as_view(), name="selfies"),
    path("app/<slug:org_slug>/selfies/<int:selfie_id>/delete", views.SelfieDeleteView.as_view(), name="selfie-delete"),
    path("app/<slug:org_slug>/selfies/<int:selfie_id>/thumbnail.jpg", views.SelfieThumbnailView.as_view(),
         name="selfie-thumbnail"),
    path("app/<slug:org_slug>/generate", views.GenerateView.as_view(), name="generate"),
    path("app/<slug:org_slug>/requests/<int:request_id>", views.ProgressView.as_view(), name="progress"),
    path("app/<slug:org_slug>/headshots", views.GalleryView.as_view(), name="gallery"),
    path("app/<slug:org_slug>/headshots/<int:headshot_id>/<str:action>", views.HeadshotActionView.as_view(),
         name="headshot-action"),
    path("app/<slug:org_slug>/admin/", include(admin_urls.urlpatterns)),
]
