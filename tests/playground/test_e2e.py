"""End to end in a real headless browser: Playwright for Python driving Debian's Chromium.

Opens the page, trains on the spiral set (the test loss falls, the heat map changes; screenshots
before and after), registers, saves the experiment, reloads it from the list, logs out. Skipped, with
the reason, when Playwright or /usr/bin/chromium is missing. Screenshots go to the test's tmp folder,
or to ``$NABLA_E2E_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import os

import pytest

from .conftest import LiveServer

CHROMIUM = os.environ.get("NABLA_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SPIRAL = ("/?dataset=spiral&noise=0&layers=8,8&activation=relu&optimizer=adam&learning_rate=0.01"
          "&features=x1,x2,x1%5E2,x2%5E2,sin(x1),sin(x2)")


@pytest.fixture
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    pw = sync_api.sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
    except Exception as exc:  # a Chromium that cannot start here (missing libraries, ...)
        pw.stop()
        pytest.skip(f"Chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0]}")
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def app(tmp_path):
    """As in conftest, but frames at the page's usual pace (drawing them costs the browser CPU here)."""
    from nabla.playground import create_app

    return create_app(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", worker_mode="thread", workers=1,
                      fast_password_hashing=True, frame_interval=0.1)


@pytest.fixture
def shots(tmp_path):
    folder = os.environ.get("NABLA_E2E_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    return folder


def _number(page, selector) -> float:
    return float(page.text_content(selector))


def _canvas(page) -> str:
    return page.evaluate("document.getElementById('boundary').toDataURL()")


@pytest.mark.slow
def test_train_register_save_reload_logout(app, chromium, shots):
    with LiveServer(app) as server:
        # bypass_csp: the page's CSP forbids eval, which wait_for_function needs
        page = chromium.new_page(viewport={"width": 1300, "height": 1000}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + SPIRAL)
        page.wait_for_function("document.getElementById('test-loss').textContent !== '–'")
        assert page.input_value("#optimizer") == "adam" and page.text_content("#layer-count") == "2"
        assert "dataset=spiral" in page.url and "optimizer=adam" in page.url  # the settings live in the URL
        first_loss = _number(page, "#test-loss")
        first_map = _canvas(page)
        page.screenshot(path=os.path.join(shots, "1-before-training.png"))

        page.click("#play")
        page.wait_for_function("parseInt(document.getElementById('epoch').textContent, 10) >= 30", timeout=60_000)
        page.click("#play")  # pause
        page.wait_for_function("!document.getElementById('play').classList.contains('playing')")
        page.wait_for_timeout(200)
        trained_loss = _number(page, "#test-loss")
        assert trained_loss < 0.6 * first_loss, (first_loss, trained_loss)
        assert _canvas(page) != first_map  # the heat map changed
        history = page.evaluate("window.__playground.history.length")
        assert history >= 2
        page.screenshot(path=os.path.join(shots, "2-after-training.png"))
        epoch = int(page.text_content("#epoch"))
        page.click("#step")
        page.wait_for_function(f"parseInt(document.getElementById('epoch').textContent, 10) === {epoch + 1}")

        # register; the page comes back with the same settings (and a fresh run)
        page.click("#register-link")
        page.fill("#username", "walter")
        page.fill("#password", "a long password")
        page.click("#submit")
        page.wait_for_selector("#whoami:has-text('walter')")
        assert "dataset=spiral" in page.url
        page.wait_for_function("document.getElementById('test-loss').textContent !== '–'")
        page.click("#play")
        page.wait_for_function("parseInt(document.getElementById('epoch').textContent, 10) >= 10", timeout=60_000)
        page.click("#play")
        page.wait_for_function("!document.getElementById('play').classList.contains('playing')")

        # save, and see it in the list with its thumbnail
        page.fill("#save-name", "my spiral")
        page.click("#save")
        item = page.wait_for_selector("li.experiment:has-text('my spiral')")
        assert item.query_selector("img") is not None
        page.wait_for_function("[...document.querySelectorAll('li.experiment img')].every(i => i.complete "
                               "&& i.naturalWidth > 0)")
        page.screenshot(path=os.path.join(shots, "3-saved.png"))

        # reload the saved experiment from the list: same settings, a new run
        page.select_option("#optimizer", "sgd")  # change something first
        page.wait_for_function("location.search.includes('optimizer=sgd')")
        page.click("li.experiment a.load")
        page.wait_for_selector("#banner:has-text('my spiral')")
        page.wait_for_function("document.getElementById('test-loss').textContent !== '–'")
        assert page.input_value("#optimizer") == "adam" and page.text_content("#layer-count") == "2"
        assert "optimizer=adam" in page.url

        # log out
        page.click("#logout")
        page.wait_for_selector("#login-link", state="visible")
        assert page.is_hidden("#library") and page.is_hidden("#signed-in")
        page.screenshot(path=os.path.join(shots, "4-logged-out.png"))
        assert errors == []
        for name in ("1-before-training", "2-after-training", "3-saved", "4-logged-out"):
            assert os.path.getsize(os.path.join(shots, name + ".png")) > 10_000
        page.close()  # ends its event stream before the server stops


def test_bad_settings_in_the_url_are_explained(app, chromium):
    with LiveServer(app) as server:
        page = chromium.new_page(bypass_csp=True)
        page.goto(server.url + "/?layers=9,9&dataset=spiral")
        page.wait_for_selector("#status.error")
        assert "layers" in page.text_content("#status") and "1 to 8" in page.text_content("#status")
        page.close()



def test_labs_site_in_the_browser(app, chromium):
    """The playground serves the labs report at /labs: the index lists the labs with thumbnails that
    load, and a lab's page shows its claim, a figure and its numbers table."""
    pytest.importorskip("nabla.labs", reason="nabla.labs (the labs report site) is not in this tree")
    with LiveServer(app) as server:
        page = chromium.new_page()
        page.goto(server.url + "/labs/")
        links = page.locator("a[href$='/index.html']")
        assert links.count() >= 16, f"expected the 16+ labs on the index, found {links.count()}"
        thumbs = page.locator("img")
        assert thumbs.count() >= 1
        page.wait_for_function("Array.from(document.images).every(i => i.complete)")
        assert page.evaluate("Array.from(document.images).filter(i => i.naturalWidth > 0).length") >= 1
        page.goto(server.url + "/labs/vanishing_gradients/index.html")
        text = page.text_content("body")
        assert "vanish" in text.lower() and "±" in text
        assert page.evaluate("Array.from(document.images).some(i => i.complete && i.naturalWidth > 0)")
        page.close()
