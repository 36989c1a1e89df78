"""HR admin portal: brand kits. The list (new kits from a preset), the editor that saves a new version of a kit's
spec, and its live preview: the kit as edited on a sample face, drawn by the studio pipeline (admin_preview)."""
from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from brand_kits.attire import attire_notice
from brand_kits.models import BrandKit, BrandKitVersion
from brand_kits.services import BrandKitError, brand_kit_create, brand_kit_update, brand_spec_for, resolved_backend
from inference.brand import BrandSpec, BrandSpecError
from inference.presets import PRESETS

from .admin_forms import BACKEND_LABELS, BrandKitCreateForm, BrandSpecForm
from .admin_preview import PreviewError, brand_preview
from .admin_views import AdminView


class BrandKitListView(AdminView):
    nav = "brand_kits"

    def get(self, request, org_slug: str):
        return self.page(BrandKitCreateForm())

    def page(self, form, status: int = 200):
        newest = BrandKitVersion.objects.filter(kit=OuterRef("pk")).order_by("-version").values("pk")[:1]
        kits = list(BrandKit.objects.for_organization(self.organization).filter(archived_at__isnull=True)
                    .annotate(current_version_id=Subquery(newest)))
        # Each kit's current version in one query, not one per kit (BrandKit.current_version asks each time).
        versions = BrandKitVersion.objects.in_bulk([kit.current_version_id for kit in kits])
        return self.render("brand_kits.html", {
            "form": form, "presets": PRESETS.values(),
            "kits": [(kit, versions.get(kit.current_version_id), self.url("admin-brand-kit-edit", kit.pk))
                     for kit in kits]},
            status=status)

    def post(self, request, org_slug: str):
        form = BrandKitCreateForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            kit = brand_kit_create(organization=self.organization, name=form.cleaned_data["name"], spec={},
                                   preset=form.cleaned_data["preset"], created_by=request.user)
        except BrandKitError as exc:
            form.add_error(None, exc.message)
            return self.page(form, status=400)
        messages.success(request, _("Brand kit “%(name)s” created.") % {"name": kit.name})
        return HttpResponseRedirect(self.url("admin-brand-kit-edit", kit.pk))


class BrandKitEditView(AdminView):
    nav = "brand_kits"

    def kit(self, kit_id: int) -> BrandKit:
        return get_object_or_404(BrandKit.objects.for_organization(self.organization)
                                 .filter(archived_at__isnull=True), pk=kit_id)

    def get(self, request, org_slug: str, kit_id: int):
        kit = self.kit(kit_id)
        return self.page(kit, BrandSpecForm(initial=BrandSpecForm.initial_from(kit.current_version.spec)))

    def page(self, kit, form, status: int = 200):
        version = kit.current_version
        initial = BrandSpecForm.initial_from(version.spec)
        spec = brand_spec_for(version)
        backend = backend_display(spec.backend)
        return self.render("brand_kit_edit.html", {
            "kit": kit, "version": version, "form": form,
            "preview_url": self.url("admin-brand-kit-preview", kit.pk),
            "backend": backend, "attire": attire_notice(spec, backend["name"]),
            "initial_preview": f"{self.url('admin-brand-kit-preview', kit.pk)}?{urlencode(_query(initial))}",
            "versions": kit.versions.order_by("-version")[:10]}, status=status)

    def post(self, request, org_slug: str, kit_id: int):
        kit = self.kit(kit_id)
        form = BrandSpecForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(kit, form, status=400)
        try:
            version = brand_kit_update(kit=kit, spec=form.spec(), created_by=request.user,
                                       background_image=form.cleaned_data.get("background_image"),
                                       style_reference=form.cleaned_data.get("style_reference"),
                                       remove_style_reference=form.cleaned_data.get("remove_style_reference", False))
        except BrandKitError as exc:
            form.add_error(exc.field if exc.field in ("background_image", "style_reference") else None, exc.message)
            return self.page(kit, form, status=400)
        messages.success(request, _("Saved as version %(version)d.") % {"version": version.version})
        return HttpResponseRedirect(self.url("admin-brand-kit-edit", kit.pk))


def backend_display(choice: str) -> dict:
    """The backend a kit's headshots are made by, named for the editor, and whether it is the deployment's default."""
    name = resolved_backend(choice)
    return {"name": name, "label": BACKEND_LABELS[name], "is_default": choice == "default"}


def _query(initial: dict) -> dict:
    # `is`, not `in (None, False)`: 0 == False, and a 0 strength or temperature is a value the form requires.
    return {key: ("on" if value is True else value) for key, value in initial.items()
            if value is not None and value is not False}


class BrandKitPreviewView(BrandKitEditView):
    """The kit as edited (query string = the editor's fields) on the sample face; JPEG, cached by spec."""

    def get(self, request, org_slug: str, kit_id: int):
        kit = self.kit(kit_id)
        version = kit.current_version
        form = BrandSpecForm(request.GET)
        if not form.is_valid():
            errors = [str(e) for errs in form.errors.values() for e in errs]
            return HttpResponse(" ".join(errors), status=400, content_type="text/plain; charset=utf-8")
        spec = {**version.spec, **form.spec()}
        if spec["background"]["kind"] == "image":
            if not version.background_image:
                return HttpResponse(_("Upload a background image and save to preview it."), status=400,
                                    content_type="text/plain; charset=utf-8")
            spec["background"] = {**spec["background"], "image_path": version.background_image.path}
        try:
            brand = BrandSpec.from_dict({**spec, "name": kit.name, "version": version.version})
            data, cached = brand_preview(brand)
        except (BrandSpecError, PreviewError) as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
        response = HttpResponse(data, content_type="image/jpeg")
        # Which backend the kit as edited uses: the editor shows it beside the preview as it changes.
        shown = backend_display(brand.backend)
        response["X-Kit-Backend"] = shown["name"]
        response["X-Kit-Backend-Label"] = str(shown["label"])
        # What that backend does with the clothing the kit asks for (percent-encoded: headers are latin-1).
        attire = attire_notice(brand, shown["name"])
        response["X-Kit-Attire-Notice"] = attire.as_header() if attire else ""
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Preview-Cache"] = "hit" if cached else "miss"
        return response
