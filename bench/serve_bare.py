"""Serve the bare app as `onboarding serve` serves the hub: `serve_bare PORT THREADS`."""

from __future__ import annotations

import sys

import waitress

from bench.bare import create_bare_app

if __name__ == "__main__":
    waitress.serve(
        create_bare_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        threads=int(sys.argv[2]),
        clear_untrusted_proxy_headers=False,
        max_request_body_size=8 * 1024 * 1024,
    )
