"""Users who sign in with their email, invite tokens that expire and are single-use, and API login."""
