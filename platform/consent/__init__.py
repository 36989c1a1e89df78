"""Consent to biometric processing: the versioned text, the records, and the check every biometric step makes."""
