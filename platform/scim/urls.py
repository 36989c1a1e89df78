"""SCIM 2.0 endpoints for directories (Entra ID, Okta, ...): /scim/v2/, authenticated by an organization's token."""
from django.urls import path, re_path

from . import views

app_name = "scim"
urlpatterns = [
    path("scim/v2/ServiceProviderConfig", views.service_provider_config, name="service-provider-config"),
    path("scim/v2/Schemas", views.schema_list, name="schemas"),
    path("scim/v2/Schemas/<str:schema_id>", views.schema_detail, name="schema"),
    path("scim/v2/ResourceTypes", views.resource_type_list, name="resource-types"),
    path("scim/v2/ResourceTypes/<str:resource_type_id>", views.resource_type_detail, name="resource-type"),
    path("scim/v2/Users", views.users, name="users"),
    path("scim/v2/Users/.search", views.users_search, name="users-search"),
    path("scim/v2/Users/<str:user_id>", views.user_detail, name="user"),
    path("scim/v2/Groups", views.groups, name="groups"),
    path("scim/v2/Groups/.search", views.groups_search, name="groups-search"),
    path("scim/v2/Groups/<str:group_id>", views.group_detail, name="group"),
    path("scim/v2/.search", views.root_search, name="search"),
    # Anything else under /scim/v2/ answers a SCIM 404, not the site's HTML one.
    re_path(r"^scim/v2(?:/(?P<rest>.*))?$", views.unknown, name="unknown"),
]
