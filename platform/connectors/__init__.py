"""Photo pushes to directories on approval (Microsoft Graph, Google Directory, Slack, BambooHR), with per-employee
sync status."""
