"""The server-rendered portals: employees (consent, upload, progress, gallery) and HR admins (dashboard, people,
brand kits, review, exports)."""
