"""Headless Chromium driven through chromedriver's W3C WebDriver HTTP API, with ``requests`` only
(no selenium package). Debian's ``chromium`` and ``chromium-driver`` packages provide the binaries.
"""
from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from tests.apiserver import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
INSTALL_HINT = "apt-get update && apt-get install -y chromium chromium-driver"
# As root on a machine with no outside network (see the README section): no sandbox, no background
# connections, a fresh profile.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=en-US"]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


class WebDriverError(RuntimeError):
    pass


class Browser:
    """One chromedriver process and one browser session."""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.driver = subprocess.Popen([CHROMEDRIVER, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.http.get(f"{self.base}/status", timeout=2).json()["value"].get("ready"):
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if time.monotonic() > deadline or self.driver.poll() is not None:
                self.close()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.2)
        caps = {"browserName": "chrome", "pageLoadStrategy": "normal",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                    *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]}}
        try:
            value = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        except Exception:
            self.close()
            raise
        self.session = value["sessionId"]
        self._call("POST", f"/session/{self.session}/timeouts", {"pageLoad": 30000, "script": 30000, "implicit": 0})

    # ------------------------------------------------------------------ protocol
    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        r = self.http.request(method, self.base + path, json=body if body is not None else ({} if method == "POST" else None),
                              timeout=60)
        try:
            data = r.json()
        except ValueError:
            raise WebDriverError(f"{method} {path}: HTTP {r.status_code}: {r.text[:300]}") from None
        value = data.get("value")
        if r.status_code >= 400 or (isinstance(value, dict) and "error" in value):
            raise WebDriverError(f"{method} {path}: {value}")
        return value

    def _s(self, path: str) -> str:
        return f"/session/{self.session}{path}"

    # ------------------------------------------------------------------ commands
    def get(self, url: str) -> None:
        self._call("POST", self._s("/url"), {"url": url})

    @property
    def url(self) -> str:
        return self._call("GET", self._s("/url"))

    def add_cookie(self, name: str, value: str, path: str = "/") -> None:
        self._call("POST", self._s("/cookie"), {"cookie": {"name": name, "value": value, "path": path}})

    def cookies(self) -> list[dict]:
        return self._call("GET", self._s("/cookie"))

    def delete_cookies(self) -> None:
        self._call("DELETE", self._s("/cookie"))

    def js(self, script: str, *args: Any) -> Any:
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        return self._call("POST", self._s("/element"), {"using": "css selector", "value": css})[ELEMENT]

    def wait_for(self, css: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.find(css)
            except WebDriverError:
                if time.monotonic() > deadline:
                    raise WebDriverError(f"no element {css!r} on {self.url} after {timeout} s") from None
                time.sleep(0.25)

    def type(self, element: str, text: str) -> None:
        self._call("POST", self._s(f"/element/{element}/clear"))
        self._call("POST", self._s(f"/element/{element}/value"), {"text": text})

    def click(self, element: str) -> None:
        self._call("POST", self._s(f"/element/{element}/click"))

    def frame(self, element: str | None) -> None:
        """Switch into an iframe element (``None``: back to the top document)."""
        target = None if element is None else {ELEMENT: element}
        self._call("POST", self._s("/frame"), {"id": target})

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._call("GET", self._s("/screenshot"))))
        return path

    def full_screenshot(self, path: Path, width: int = 1400, max_height: int = 3000) -> Path:
        """The whole page (the window grown to the document's height, then restored)."""
        rect = self._call("GET", self._s("/window/rect"))
        height = int(self.js("return Math.ceil(document.documentElement.scrollHeight)") or rect["height"])
        self._call("POST", self._s("/window/rect"), {"width": width, "height": min(max(height, 600), max_height)})
        try:
            return self.screenshot(path)
        finally:
            self._call("POST", self._s("/window/rect"), {"width": rect["width"], "height": rect["height"]})

    def close(self) -> None:
        try:
            if getattr(self, "session", None):
                self.http.delete(self.base + self._s(""), timeout=20)
        except requests.RequestException:
            pass
        finally:
            if self.driver.poll() is None:
                self.driver.terminate()
                try:
                    self.driver.wait(10)
                except subprocess.TimeoutExpired:
                    self.driver.kill()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
