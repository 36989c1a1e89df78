from django.apps import AppConfig


class BrandKitsConfig(AppConfig):
    name = "brand_kits"
