"""转人工 in headless Chromium: a Telegram user in 南关区 asks for a person, 南关区's staff member
sees the request in the console, answers it, and the reply reaches the fake Telegram API once;
the bot sends nothing of its own while the person holds the conversation.

Timings (request → visible in the console, reply → at the fake API) are printed for the report;
nothing asserts on them (no timed assertions in tests).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from datetime import time as clock_time
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from bot.handover.config import WorkingHours
from bot.handover.hours import Hours
from tests.browser.conftest import Stack, browser_available, driver, stack
from tests.browser.test_console_browser import sign_in
from tests.fakes.fake_telegram import text_update

__all__ = ["browser_available", "driver", "stack"]

WAIT = 40
CHAT = 7102


class EveryDayWorks:
    """A calendar on which every day is a working day: the test must not depend on when it runs."""

    def is_working_day(self, day: Any) -> bool:
        return True


def telegram_says(stack: Stack, text: str) -> None:
    request = urllib.request.Request(
        f"{stack.url}/telegram/webhook",
        data=json.dumps(text_update(CHAT, text)).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": "telegram-test-secret",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200


def sent_to_user(stack: Stack) -> list[str]:
    return [s.text for s in stack.telegram.to(str(CHAT))]


def wait_for(predicate: Any, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_county_staff_answer_a_telegram_request_from_their_county(driver: Any, stack: Stack) -> None:
    services = stack.services
    hours = WorkingHours(start=clock_time(0, 0), end=clock_time(23, 59, 59))
    services.extra["handover.hours"] = Hours(hours, services.clock.tz, calendar=EveryDayWorks())  # type: ignore[arg-type]

    telegram_says(stack, "转人工")
    wait_for(lambda: len(sent_to_user(stack)) == 1)
    assert "您在哪个市县" in sent_to_user(stack)[0]
    sign_in(driver, stack, "nanguan_county")
    requested = time.monotonic()
    telegram_says(stack, "我在南关区")
    # Pages reload themselves (the inbox) or are left by a form post: an element found a moment
    # ago may be gone, which only means "look again".
    wait = WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))
    # The header count (polled by every page) shows the new request in this county.
    driver.get(f"{stack.url}/console/handoffs")
    wait.until(lambda d: d.find_element(By.ID, "handover-count").get_attribute("data-count") == "1")
    waiting_row = "#handoffs tr[data-state=waiting]"
    row_text = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, waiting_row).text)
    visible_after = time.monotonic() - requested
    assert "南关区" in row_text and "Telegram" in row_text
    wait_for(lambda: len(sent_to_user(stack)) == 2)
    assert "南关区人社局" in sent_to_user(stack)[1]

    # The inbox reloads itself every few seconds: follow the row's link as it is now.
    link = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"{waiting_row} a").get_attribute("href"))
    driver.get(link)
    wait.until(ec.element_to_be_clickable((By.ID, "claim"))).click()
    wait.until(lambda d: "done=claimed" in d.current_url)
    wait.until(ec.presence_of_element_located((By.ID, "flash")))
    assert "由 nanguan_county 处理中" in driver.find_element(By.ID, "holder").text

    reply = "您好，我是南关区人社局的工作人员，请问有什么可以帮您？"
    driver.find_element(By.ID, "reply-text").send_keys(reply)
    sent_at = time.monotonic()
    driver.find_element(By.ID, "send").click()
    wait.until(lambda d: "done=queued" in d.current_url)
    wait.until(lambda d: d.find_element(By.ID, "flash").get_attribute("data-done") == "queued")
    wait_for(lambda: reply in sent_to_user(stack))
    delivered_after = time.monotonic() - sent_at

    # The trainee writes back: it shows up in the open page by itself; the bot stays silent.
    telegram_says(stack, "电工班什么时候开课？")
    wait.until(lambda d: "电工班什么时候开课" in d.find_element(By.ID, "transcript").text)
    time.sleep(3)  # room for a wrong automatic answer to arrive (the dispatcher ticks every 2 s)
    assert Counter(sent_to_user(stack))[reply] == 1
    assert len(sent_to_user(stack)) == 3
    print(
        f"\nrequest visible to staff after {visible_after:.2f} s;"
        f" reply at the fake API after {delivered_after:.2f} s"
    )
