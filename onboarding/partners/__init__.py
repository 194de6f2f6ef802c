"""Partners: their settings, staff, credentials and registered redirect URLs."""
