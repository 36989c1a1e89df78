"""Photo pushes: contract servers per destination, the real clients, jobs through Redis, and the API."""
