"""What connector tests share: files on a storage of their own, servers on loopback."""

import pytest


@pytest.fixture
def media(settings, tmp_path):
    """Django's default storage in a folder of this test's."""
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def loopback_allowed(settings):
    """Let flows call the test's HTTP server, which listens on a loopback address."""
    settings.AUTOMATE_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8"]
