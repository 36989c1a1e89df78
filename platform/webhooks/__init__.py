"""Outgoing webhooks (Standard Webhooks): endpoints, signed deliveries with retries, delivery log."""
