"""The WeChat custom menu (`config/wechat_menu.yaml`): validated, published, and read back on a click.

WeChat rejects a menu that breaks its limits only when it is published, so
the limits are checked when the file is read (and by the tests), and a
click's key maps to what the engine reads - a main-menu label.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot import yaml_io
from bot.settings import CONFIG_DIR

MENU_FILE = CONFIG_DIR / "wechat_menu.yaml"
MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
TOP_NAME_BYTES = 16
SUB_NAME_BYTES = 60
KEY_BYTES = 128


class Button(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    type: Literal["click", "view"] | None = None
    key: str | None = None
    url: str | None = None
    says: str | None = None
    sub_button: list[Button] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Button:
        if self.sub_button:
            if self.type is not None:
                raise ValueError(f"{self.name}: a button with sub_button has no type of its own")
            if len(self.sub_button) > MAX_SUB_BUTTONS:
                raise ValueError(f"{self.name}: at most {MAX_SUB_BUTTONS} sub-buttons")
            for sub in self.sub_button:
                if sub.sub_button:
                    raise ValueError(f"{sub.name}: sub-buttons cannot nest")
                if len(sub.name.encode()) > SUB_NAME_BYTES:
                    raise ValueError(f"{sub.name}: a sub-button name is at most {SUB_NAME_BYTES} bytes")
            return self
        if self.type == "click":
            if not self.key or len(self.key.encode()) > KEY_BYTES:
                raise ValueError(f"{self.name}: a click button needs a key of at most {KEY_BYTES} bytes")
            if not self.says:
                raise ValueError(f"{self.name}: a click button needs `says` (what the bot reads)")
        elif self.type == "view":
            if not self.url or not self.url.startswith(("http://", "https://")):
                raise ValueError(f"{self.name}: a view button needs an http(s) url")
        else:
            raise ValueError(f"{self.name}: needs a type (click or view) or sub_button")
        return self

    def payload(self) -> dict[str, Any]:
        if self.sub_button:
            return {"name": self.name, "sub_button": [b.payload() for b in self.sub_button]}
        if self.type == "click":
            return {"type": "click", "name": self.name, "key": self.key}
        return {"type": "view", "name": self.name, "url": self.url}


class Menu(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    button: list[Button] = Field(min_length=1, max_length=MAX_BUTTONS)

    @model_validator(mode="after")
    def _check(self) -> Menu:
        for top in self.button:
            if len(top.name.encode()) > TOP_NAME_BYTES:
                raise ValueError(f"{top.name}: a top-level name is at most {TOP_NAME_BYTES} bytes")
        keys = [b.key for b in self.buttons() if b.key]
        if len(keys) != len(set(keys)):
            raise ValueError("button keys must be unique")
        return self

    def buttons(self) -> list[Button]:
        """Every leaf button."""
        leaves: list[Button] = []
        for top in self.button:
            leaves.extend(top.sub_button or [top])
        return leaves

    def says(self, key: str) -> str | None:
        """What a click on `key` says to the engine (None for a key this menu does not have)."""
        for button in self.buttons():
            if button.type == "click" and button.key == key:
                return button.says
        return None

    def payload(self) -> dict[str, Any]:
        """The body of WeChat's menu/create call."""
        return {"button": [b.payload() for b in self.button]}


@lru_cache(maxsize=1)
def load_menu() -> Menu:
    return Menu.model_validate(yaml_io.safe_load(MENU_FILE.read_text(encoding="utf-8")) or {})
