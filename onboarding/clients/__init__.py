"""Clients (the partner's customers), their users, and signing them in."""
