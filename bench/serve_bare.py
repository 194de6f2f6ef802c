"""Serve the bare app as `onboarding serve --workers N` serves the hub (the same gunicorn
settings, onboarding.serving): `serve_bare PORT WORKERS`."""

from __future__ import annotations

import sys

from bench.bare import create_bare_app
from onboarding import serving

if __name__ == "__main__":
    serving.run(f"127.0.0.1:{sys.argv[1]}", int(sys.argv[2]), load=create_bare_app)
