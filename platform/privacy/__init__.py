"""Consent to biometric processing: recorded before anything is processed, withdrawable."""
