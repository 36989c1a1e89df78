"""SCIM 2.0 provisioning (RFC 7643/7644): the company's directory creates, updates and deactivates employees."""
