"""An erasure receipt of the tenant, for the isolation matrix (signed like a real one; nobody is erased)."""
from __future__ import annotations


def populate(tenant) -> dict[str, object]:
    from django.utils import timezone

    from privacy.receipts import ErasureReceipt, new_salt, receipt_sign, subject_hash

    salt = new_salt()
    receipt = ErasureReceipt(organization=tenant.org, employee_ref=10_000 + tenant.org.pk, erased_at=timezone.now(),
                             subject_salt=salt, subject_sha256=subject_hash(f"gone@{tenant.org.slug}.example", salt),
                             requested_by_ref=tenant.admin.pk, counts={"employees": 1}, destinations=[],
                             files={"deleted": 0, "pending": 0})
    receipt_sign(receipt)
    receipt.save()
    return {"receipt_id": receipt}
