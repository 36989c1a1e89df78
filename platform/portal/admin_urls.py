"""HR admin portal routes, mounted by portal/urls.py under app/<slug:org_slug>/admin/ (names: portal:admin-*)."""
from django.urls import path

from . import admin_access_views as access
from . import admin_api_keys_views as api_keys
from . import admin_audit_views as audit
from . import admin_brand_kits_views as brand_kits
from . import admin_directory_views as directory
from . import admin_employees_views as employees
from . import admin_exports_views as exports
from . import admin_privacy_views as privacy
from . import admin_review_views as review
from . import admin_rollouts_views as rollouts
from . import admin_scim_views as scim
from . import admin_settings_views as settings_views
from . import admin_sso_views as sso
from . import admin_views as views
from . import admin_webhooks_views as webhooks

urlpatterns = [
    path("", views.DashboardView.as_view(), name="admin-dashboard"),
    path("rollouts/<int:rollout_id>/<str:action>", rollouts.RolloutActionView.as_view(), name="admin-rollout-action"),
    path("rollouts/", rollouts.RolloutPageView.as_view(), name="admin-rollouts"),
    path("rollouts/start", rollouts.RolloutStartView.as_view(), name="admin-rollout-start"),
    path("employees/", employees.EmployeeListView.as_view(), name="admin-employees"),
    path("employees/import", employees.EmployeeImportView.as_view(), name="admin-employee-import"),
    path("employees/invite", employees.EmployeeInviteView.as_view(), name="admin-employee-invite"),
    path("employees/remind", employees.EmployeeRemindView.as_view(), name="admin-employee-remind"),
    path("employees/<int:employee_id>/revoke-invite", employees.EmployeeRevokeView.as_view(), {"what": "invite"},
         name="admin-employee-revoke-invite"),
    path("employees/<int:employee_id>/deactivate", employees.EmployeeRevokeView.as_view(), {"what": "deactivate"},
         name="admin-employee-deactivate"),
    path("brand-kits/", brand_kits.BrandKitListView.as_view(), name="admin-brand-kits"),
    path("brand-kits/<int:kit_id>/", brand_kits.BrandKitEditView.as_view(), name="admin-brand-kit-edit"),
    path("brand-kits/<int:kit_id>/preview.jpg", brand_kits.BrandKitPreviewView.as_view(),
         name="admin-brand-kit-preview"),
    path("review/", review.ReviewQueueView.as_view(), name="admin-review"),
    path("review/<int:headshot_id>", review.ReviewActionView.as_view(), name="admin-review-action"),
    path("review/requests/<int:request_id>/retry", review.RequestRetryView.as_view(), name="admin-request-retry"),
    path("selfies/<int:selfie_id>/image.jpg", review.SelfieImageView.as_view(), name="admin-selfie-image"),
    path("exports/", exports.ExportsView.as_view(), name="admin-exports"),
    path("exports/jobs", exports.ExportJobStartView.as_view(), name="admin-export-job-start"),
    path("exports/jobs/<int:export_id>/retry", exports.ExportJobRetryView.as_view(), name="admin-export-job-retry"),
    path("settings/", settings_views.SettingsIndexView.as_view(), name="admin-settings"),
    path("settings/organization", settings_views.OrganizationSettingsView.as_view(),
         name="admin-settings-organization"),
    path("settings/api-keys/", api_keys.ApiKeysView.as_view(), name="admin-api-keys"),
    path("settings/api-keys/<int:api_key_id>", api_keys.ApiKeyActionView.as_view(), name="admin-api-key-action"),
    path("settings/webhooks/", webhooks.WebhooksView.as_view(), name="admin-webhooks"),
    path("settings/webhooks/<int:webhook_id>/", webhooks.WebhookEndpointView.as_view(), name="admin-webhook"),
    path("settings/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/retry",
         webhooks.WebhookDeliveryRetryView.as_view(), name="admin-webhook-delivery-retry"),
    path("settings/provisioning/", scim.ScimView.as_view(), name="admin-scim"),
    path("settings/provisioning/tokens/<int:token_id>", scim.ScimTokenActionView.as_view(), name="admin-scim-token"),
    path("settings/audit-log/", audit.AuditLogView.as_view(), name="admin-audit"),
    path("settings/audit-log.csv", audit.AuditLogCsvView.as_view(), name="admin-audit-csv"),
    path("settings/sso/", sso.SsoView.as_view(), name="admin-sso"),
    path("settings/privacy/", privacy.PrivacyView.as_view(), name="admin-privacy"),
    path("settings/privacy/erase/<int:employee_id>", privacy.ErasureConfirmView.as_view(), name="admin-erasure"),
    path("settings/privacy/receipts/<int:receipt_id>.json", privacy.ReceiptDownloadView.as_view(),
         name="admin-receipt"),
    path("settings/directory/", directory.DirectoryView.as_view(), name="admin-directory"),
    path("settings/directory/<str:kind>/save", directory.ConnectionSaveView.as_view(), name="admin-connection-save"),
    path("settings/directory/connections/<int:connection_id>", directory.ConnectionActionView.as_view(),
         name="admin-connection"),
    path("settings/directory/pushes/<int:photo_sync_id>/retry", directory.PhotoSyncRetryView.as_view(),
         name="admin-photo-sync-retry"),
    path("access/", access.AccessView.as_view(), name="admin-access"),
    path("access/members/<int:member_id>", access.MemberRoleView.as_view(), name="admin-member-role"),
    path("access/domains", access.DomainAddView.as_view(), name="admin-domain-add"),
    path("access/domains/<int:domain_id>", access.DomainActionView.as_view(), name="admin-domain-action"),
]
