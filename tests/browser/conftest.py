"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Fixtures
- `browser`: one headless Chromium for the session (`/usr/bin/chromium`; never `playwright install`).
- `desktop_page` (1280x800) and `phone_page` (390x844, mobile, touch): a fresh context each, pointed at
  `live_server` (`page.goto("/app/")` works: the context's base URL is the live server's).
- `login_as(page, user)`: signs `user` in by putting a real Django session cookie into the page's context (for
  paths that don't test the login itself).
- `audit(page, name)`: runs axe-core in the page, fails on any serious or critical violation (printing the rule,
  its help and the offending nodes) and on any Content-Security-Policy violation the page reported, then saves a
  full-page screenshot to `test-artifacts/screenshots/<name>-<desktop|phone>.png`.

`make test` installs Chromium and `tests/browser/node_modules/axe-core` when they are missing.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the main thread; the test's own ORM calls would otherwise be refused.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = HERE.parents[1] / "test-artifacts" / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
PHONE_MAX_WIDTH = 600
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    # --no-sandbox: the tests run as root in a container, where Chromium's sandbox can't start.
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(autouse=True)
def _plain_http_live_server(settings):
    # The live server speaks plain http: cookies marked Secure would never be sent back to it.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False


def _new_page(browser, live_server, options: dict):
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base_url = live_server.url
    # What the browser refused because of the Content-Security-Policy (inline scripts, foreign hosts): audit fails.
    page.csp_violations = []
    page.on("console", lambda message: page.csp_violations.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    return context, page


@pytest.fixture
def desktop_page(browser, live_server):
    context, page = _new_page(browser, live_server, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    context, page = _new_page(browser, live_server, PHONE)
    yield page
    context.close()


def _login_as(page, user) -> None:
    """Sign the user in through Django's own login machinery and hand the browser its session cookie."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": page.base_url,
        "httpOnly": True, "sameSite": "Lax",
    }])


@pytest.fixture
def login_as():
    return _login_as


def _kind(page) -> str:
    return "phone" if page.viewport_size["width"] <= PHONE_MAX_WIDTH else "desktop"


def _audit(page, name: str) -> dict:
    """axe-core over the page as it is now; serious/critical violations fail the test. Returns axe's results."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix tests/browser` (make test does)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ValueError(f"audit name {name!r}: use lowercase letters, digits, - and _")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{_kind(page)}.png"
    # A full-page picture shows every image: lazy ones below the fold are loaded first.
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)", timeout=15_000)
    page.screenshot(path=str(path), full_page=True)
    # Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) doesn't block the injection.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("""async () => await window.axe.run(document, {
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
        resultTypes: ["violations"]})""")
    blocking = [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    problems = []
    for violation in blocking:
        nodes = "\n".join(f"      {node['target']}: {node.get('failureSummary', '').strip()}"
                          for node in violation["nodes"][:10])
        problems.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']}\n"
                        f"    {violation['helpUrl']}\n{nodes}")
    if problems:
        pytest.fail(f"accessibility violations on {name} ({_kind(page)}, {page.url}); screenshot {path}:\n"
                    + "\n".join(problems), pytrace=False)
    if getattr(page, "csp_violations", None):
        pytest.fail(f"Content-Security-Policy violations on {name} ({page.url}):\n  "
                    + "\n  ".join(page.csp_violations), pytrace=False)
    return results


@pytest.fixture
def audit():
    return _audit
