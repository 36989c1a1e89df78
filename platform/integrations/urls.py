"""Routes of this app outside the tenant API (full paths from the site root): the directory pull API."""
from django.urls import path

from . import directory_api

app_name = "integrations"
urlpatterns = [
    path("api/v1/directory/employees", directory_api.DirectoryEmployeeListApi.as_view(), name="directory-employees"),
    # path: an HRIS id may hold a slash.
    path("api/v1/directory/employees/<path:external_id>/headshot", directory_api.DirectoryEmployeeHeadshotApi.as_view(),
         name="directory-employee-headshot"),
]
