"""Getting approved headshots out: ZIP/CSV exports now; HRIS pull API, webhooks, SCIM and pushes later."""
