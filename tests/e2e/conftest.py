"""Chromium driven by Playwright against pytest-django's live server.

The browser is Debian's Chromium at /usr/bin/chromium (``make test`` installs it);
Playwright never downloads one. Without it these tests skip and say why.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.workers import (  # noqa: F401 (fixtures)
    celery_worker_process,
    use_file_database,
    worker_url,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
TIMEOUT_MS = 15_000


def pytest_configure(config):
    # Some browser tests watch a real worker run what the page started.
    use_file_database()


# Module scope: while Playwright runs, its event loop is registered in this thread, and
# stopping it at the end of the module gives the rest of the suite a thread without one.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, and Django
    # refuses ORM calls from a thread with a running loop unless told it is safe.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def screenshots_dir() -> Path:
    path = Path(settings.VAR_DIR) / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(request, browser, live_server, screenshots_dir):
    """A fresh browser context (no cookies) on the live server, screenshotted at the end."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
        assert errors == [], f"JavaScript errors on the page: {errors}"
    finally:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        # The last state of the page, to look at when a test fails (var/ is not committed).
        try:
            page.screenshot(path=str(screenshots_dir / f"{name}.png"), full_page=True)
        finally:
            context.close()


def log_in(page, username: str, password: str = "demo") -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile(r"^User ?name", re.I)).fill(username)
    page.get_by_label(re.compile(r"^Password", re.I)).fill(password)
    page.get_by_role("button", name=re.compile(r"sign in|log in", re.I)).click()
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/).*$"))
