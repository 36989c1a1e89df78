"""The privacy app's models: erasure receipts (in receipts.py, with their signing code). Consent records are the
consent app's (consent.models)."""
from __future__ import annotations

# Erasure receipts live with their signing code; imported here so Django registers the model.
from .receipts import ErasureReceipt  # noqa: F401
