"""gunicorn's settings for `gunicorn 'wsgi:app'` started in this directory (gunicorn reads this
file by itself): the same as `onboarding serve --workers N`. ONBOARDING_BIND (default
127.0.0.1:8000) and ONBOARDING_WORKERS (default: one per core) choose where and how many."""

import os

from onboarding.serving import settings

_settings = settings(
    os.environ.get("ONBOARDING_BIND", "127.0.0.1:8000"),
    int(os.environ.get("ONBOARDING_WORKERS") or 0) or None,
)
bind = _settings["bind"]
workers = _settings["workers"]
worker_class = _settings["worker_class"]
threads = _settings["threads"]
secure_scheme_headers = _settings["secure_scheme_headers"]
forwarded_allow_ips = _settings["forwarded_allow_ips"]
accesslog = _settings["accesslog"]
child_exit = _settings["child_exit"]
control_socket_disable = _settings["control_socket_disable"]
