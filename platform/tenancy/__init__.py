"""Organizations (tenants), memberships with roles, and the tenant-scoped querysets every tenant-owned model uses."""
