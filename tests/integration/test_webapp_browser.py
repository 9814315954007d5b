"""The web app in a real headless Chromium against the running service (API, worker, Redis,
SQLite): sign in, upload a real clip, watch it complete, click a word and check the player's
position, play and pause from the keyboard, name the speaker, correct a word, download txt and
docx and find both in them; on each page axe-core finds no
serious or critical accessibility violation and the Content-Security-Policy blocks nothing.

Needs Debian's `chromium` (.ci/run installs it) and Playwright's Python package, which drives
that browser: Playwright never downloads one of its own here. Skipped, saying why, without them.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import docx
import pytest

from .stack import make_stack, scratch_database

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
REAL_SPEECH = Path(__file__).resolve().parents[2] / "audio_fixtures" / "real_speech"
CLIPS = [REAL_SPEECH / "sv_nst_se10x016-08071999-1334_u0016002.flac", REAL_SPEECH / "sv_nst_se10x016-08071999-1334_u0016003.flac"]
JOB_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def service(tmp_path_factory, model_cache):
    with scratch_database("sqlite", tmp_path_factory.mktemp("db")) as url:
        stack = make_stack(tmp_path_factory.mktemp("web"), url, model_cache)
        try:
            stack.start_api()
            stack.start_worker()
            yield stack
        finally:
            stack.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs Playwright (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip("the browser test needs Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield launched
        finally:
            launched.close()


# A folder to save each checked page in as a PNG (how docs/ui is made:
# SWESCRIBE_UI_SCREENSHOTS=docs/ui pytest tests/integration/test_webapp_browser.py).
SCREENSHOTS = os.environ.get("SWESCRIBE_UI_SCREENSHOTS")


def check_page(page, name: str) -> list[str]:
    """The page's accessibility problems; saved as a screenshot too when SCREENSHOTS is set."""
    if SCREENSHOTS:
        slug = re.sub(r"[^a-z0-9]+", "-", name).strip("-")
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{slug}.png"), full_page=True)
    return accessibility_problems(page)


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations of WCAG 2 A/AA on the page as it is. axe is
    evaluated through the browser's debugging protocol, which the page's CSP does not govern."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})")
    assert result["passes"], "axe checked nothing"
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def wait_until(page, expression: str, timeout_s: float = 30) -> None:
    """Poll a JavaScript expression from here: Playwright's wait_for_function evaluates its
    predicate with eval inside the page, which the page's CSP (rightly) forbids."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true after {timeout_s} s: {expression}"
        time.sleep(0.05)


def test_a_case_handler_uploads_listens_and_downloads(service, browser, tmp_path):
    key = service.create_key("handläggare")
    context = browser.new_context(base_url=service.base_url, accept_downloads=True)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_default_timeout(30_000)
    checked: dict[str, list[str]] = {}

    # Sign in by keyboard only: the first Tab reaches the skip link, then the form.
    page.goto("/")
    assert page.url.endswith("/sign-in")
    checked["sign-in"] = check_page(page, "sign-in")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.focus("#key")
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    page.wait_for_url("**/jobs")
    checked["jobs (empty)"] = check_page(page, "jobs (empty)")

    # Upload two real clips at once, with an option; the submit button is pressed from the keyboard.
    page.goto("/upload")
    checked["upload"] = check_page(page, "upload")
    page.set_input_files("#files", [str(c) for c in CLIPS])
    page.focus("#opt-reference")
    page.keyboard.type("Dnr 2026/17")
    page.focus("#opt-diarize")  # speakers told apart, so that one can be named below
    page.keyboard.press("Space")
    page.focus("#upload button[type=submit]")
    page.keyboard.press("Enter")
    opened = page.locator("#uploads a")
    opened.nth(1).wait_for()
    assert page.eval_on_selector_all("#uploads progress", "bars => bars.map(p => p.value)") == [1, 1]
    job_urls = [opened.nth(i).get_attribute("href") or "" for i in range(2)]
    assert all(u.startswith("/jobs/") for u in job_urls), job_urls
    job_url = job_urls[0]

    # The list follows the jobs live until they complete.
    page.goto("/jobs")
    for url in job_urls:
        done = page.locator(f"#job-{url.rsplit('/', 1)[1]} td.status-completed")
        done.wait_for(timeout=JOB_TIMEOUT_MS)
    assert page.locator("text=Dnr 2026/17").count() == 2
    checked["jobs"] = check_page(page, "jobs")

    # The transcript: clicking a word seeks the player there.
    page.goto(job_url)
    checked["transcript"] = check_page(page, "transcript")
    wait_until(page, "document.getElementById('player').readyState >= 1")
    word = page.locator("#text .w").nth(2)
    start = float(word.get_attribute("data-s") or "nan")
    word.click()
    wait_until(page, "!document.getElementById('player').paused")
    position = page.evaluate("document.getElementById('player').currentTime")
    assert start - 0.05 <= position <= start + 1.5, (start, position)
    page.locator("#text .w.current").wait_for()  # the word being spoken is highlighted

    # k pauses and plays; a paragraph's time button seeks from the keyboard.
    page.focus("#text .seek")
    page.keyboard.press("k")
    wait_until(page, "document.getElementById('player').paused")
    page.keyboard.press("Enter")
    wait_until(page, "!document.getElementById('player').paused")
    assert page.evaluate("document.getElementById('player').currentTime") < start + 1.5

    # The speaker named by keyboard, once for the whole job.
    page.goto(f"{job_url}/edit")
    checked["edit"] = check_page(page, "edit")
    page.focus("#speaker-1")
    page.keyboard.type("Anna Berg")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{job_url}")
    page.locator("#text", has_text="Anna Berg").wait_for()

    # A correction by keyboard: a word added to the first segment, saved as revision 1; its page
    # shows the word as added, and the downloads carry it.
    page.goto(f"{job_url}/edit")
    page.focus("form.corrections textarea")
    page.keyboard.press("Control+End")
    page.keyboard.type(" Rättelseord")
    page.focus("form.corrections button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{job_url}/revisions/1")
    assert page.locator(".diff ins", has_text="Rättelseord").count() == 1
    checked["revision"] = check_page(page, "revision")
    page.goto(job_url)

    # A download.
    with page.expect_download() as download_info:
        page.click(f"a[href='{job_url}/download/txt']")
    saved = tmp_path / "transcript.txt"
    download_info.value.save_as(saved)
    assert download_info.value.suggested_filename.endswith(".txt")
    assert "Rättelseord" in saved.read_text(encoding="utf-8")
    assert "Anna Berg: " in saved.read_text(encoding="utf-8")
    with page.expect_download() as download_info:
        page.click(f"a[href='{job_url}/download/docx']")
    document = tmp_path / "transcript.docx"
    download_info.value.save_as(document)
    text = "\n".join(p.text for p in docx.Document(str(document)).paragraphs)
    assert "Rättelseord" in text and "Anna Berg" in text, text[:2000]

    # English, chosen from the keyboard; then the second job deleted from the list by keyboard.
    page.focus("#lang")
    page.select_option("#lang", "en")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.locator("html[lang=en]").wait_for(state="attached")
    page.goto("/jobs")
    second = job_urls[1].rsplit("/", 1)[1]
    page.once("dialog", lambda dialog: dialog.accept())
    page.focus(f"#job-{second} form.delete button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/jobs")
    page.locator(f"#job-{second}").wait_for(state="detached")
    assert page.locator(f"#job-{job_url.rsplit('/', 1)[1]}").count() == 1

    context.close()
    assert {name: problems for name, problems in checked.items() if problems} == {}
    assert blocked == []
