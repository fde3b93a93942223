"""The staff console in headless Chromium: sign in, preview an audience, send, watch it finish.

Everything below is what a person does with a mouse and keyboard; the
delivery behind it is the real dispatcher talking to the fake Telegram and
WeChat APIs on local ports.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Stack

WAIT = 40  # seconds; the dispatcher ticks every 2 s and the page refreshes every 2 s


def sign_in(driver: Any, stack: Stack, role: str) -> None:
    driver.get(f"{stack.url}/console/")
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "token")))
    driver.find_element(By.ID, "token").send_keys(stack.world.tokens[role])
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "who")))


def preview_count(driver: Any) -> str:
    return str(driver.find_element(By.ID, "preview-total").get_attribute("data-count"))


def cell(driver: Any, channel: str, result: str) -> str:
    return str(
        driver.find_element(
            By.CSS_SELECTOR, f'#results tr[data-channel="{channel}"] td[data-result="{result}"]'
        ).text
    )


def test_city_staff_sends_a_notice_to_one_class_and_sees_every_result(driver: Any, stack: Stack) -> None:
    sign_in(driver, stack, "changchun")
    assert "市级工作人员" in driver.find_element(By.ID, "who").text

    wait = WebDriverWait(driver, WAIT)
    driver.find_element(By.LINK_TEXT, "群发通知").click()
    wait.until(ec.element_to_be_clickable((By.ID, "new-broadcast"))).click()
    # With no filter the preview counts everyone in 长春市 the bot can push to.
    wait.until(lambda d: preview_count(d) == "7")

    Select(driver.find_element(By.ID, "class_id")).select_by_visible_text(
        "南关电工培训班（长春市南关职业培训学校）"
    )
    wait.until(lambda d: preview_count(d) == "5")
    preview = driver.find_element(By.ID, "preview").text
    assert "预计发送 5 人" in preview and "超过 48 小时" in preview and "无法送达" in preview

    Select(driver.find_element(By.ID, "channel")).select_by_visible_text("Telegram")
    wait.until(lambda d: preview_count(d) == "3")
    Select(driver.find_element(By.ID, "channel")).select_by_visible_text("不限")
    wait.until(lambda d: preview_count(d) == "5")

    driver.find_element(By.ID, "title").send_keys("停课通知")
    driver.find_element(By.ID, "text").send_keys("受暴雪影响，明天停课一天，课程顺延。")
    driver.find_element(By.CSS_SELECTOR, 'input[name="wechat_fallback"][value="skip"]').click()
    driver.find_element(By.ID, "send").click()

    wait.until(ec.presence_of_element_located((By.ID, "progress")))
    assert "/console/broadcasts/" in driver.current_url
    # The page follows the delivery by itself until every message has a result.
    wait.until(lambda d: d.find_element(By.ID, "progress").get_attribute("data-final") == "1")
    assert driver.find_element(By.ID, "status").text == "已完成"
    assert cell(driver, "telegram", "sent") == "2"
    assert cell(driver, "telegram", "unreachable") == "1"
    assert cell(driver, "wechat", "sent") == "1"
    assert cell(driver, "wechat", "outside_window") == "1"
    rows = driver.find_elements(By.CSS_SELECTOR, "#deliveries tr[data-result]")
    assert len(rows) == 5
    assert Counter(r.get_attribute("data-result") for r in rows) == {
        "sent": 3,
        "unreachable": 1,
        "outside_window": 1,
    }

    # Each reachable account got the notice exactly once. Only the notice is counted: the
    # stack runs the real scheduler, whose jobs (the attendance tick runs at start-up) may
    # message the same accounts over the same fakes; one loaded CI run saw four such.
    notice = "停课通知"
    assert Counter(s.chat_id for s in stack.telegram.sent if notice in s.text) == {
        "telegram-1": 1,
        "telegram-4": 1,
    }
    assert [who for who, text in stack.wechat.texts if notice in text] == ["wechat-1"]


def test_operator_cannot_reach_another_institution(driver: Any, stack: Stack) -> None:
    sign_in(driver, stack, "op_nanguan")
    driver.find_element(By.LINK_TEXT, "班级出勤").click()
    classes = WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "classes"))).text
    assert "南关电工培训班" in classes and "朝阳" not in classes

    driver.get(f"{stack.url}/console/classes/{stack.world.classes['chaoyang']}")
    assert "不在您的管辖范围内" in driver.find_element(By.ID, "error-message").text

    driver.get(f"{stack.url}/console/broadcasts/new")
    options = [o.text for o in Select(driver.find_element(By.ID, "class_id")).options]
    assert any("南关" in o for o in options) and not any("朝阳" in o for o in options)
    WebDriverWait(driver, WAIT).until(lambda d: preview_count(d) == "5")


def test_sign_in_errors_and_tablet_layout(driver: Any, stack: Stack) -> None:
    driver.get(f"{stack.url}/console/login")
    driver.find_element(By.ID, "token").send_keys("not-a-token")
    driver.find_element(By.ID, "login-submit").click()
    error = WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "login-error")))
    assert "令牌不对" in error.text

    driver.set_window_size(768, 1024)
    sign_in(driver, stack, "province")
    for path in ("/console/", "/console/broadcasts/new", "/console/claims", "/console/classes"):
        driver.get(f"{stack.url}{path}")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    driver.get(f"{stack.url}/console/claims")
    assert "超期" in driver.find_element(By.ID, "claims").text  # 刘洋's returned claim is a day late
