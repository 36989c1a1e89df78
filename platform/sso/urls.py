"""Routes of this app outside the tenant API (full paths from the site root)."""

app_name = "sso"
urlpatterns: list = []
