"""The Partner API (`/api/v1`): JSON for partners' backends, authenticated by header, no CSRF."""
