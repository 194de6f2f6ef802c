"""WSGI entry point for `flask --app wsgi`, `waitress-serve wsgi:app` and other servers."""

from onboarding import create_app

app = create_app()
