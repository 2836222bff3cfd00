"""Drive headless Chromium through the DevTools protocol (tornado's websocket client; no new dependency).

Only what the browser tests need: start Chromium with a debugging port on 127.0.0.1,
evaluate JavaScript in the page, type and press keys as a user does.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from browser import FLAGS, chromium_path


class DevToolsError(RuntimeError):
    pass


class Chromium:
    """A headless Chromium with a remote-debugging port; use as a context manager."""

    def __init__(self, width: int = 1400, height: int = 2200) -> None:
        self.size = (width, height)
        self.process: subprocess.Popen | None = None
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        self.port = 0

    def __enter__(self) -> Chromium:
        exe = chromium_path()
        if exe is None:
            raise DevToolsError("Chromium is not installed")
        # port 0: Chromium picks a free one and writes it to DevToolsActivePort in the profile
        self.process = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile.name}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--window-size={self.size[0]},{self.size[1]}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.is_file() and active.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise DevToolsError("Chromium did not open its debugging port")
            time.sleep(0.05)
        self.port = int(active.read_text().splitlines()[0])
        return self

    def page_socket(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as answer:
            targets = json.loads(answer.read())
        return next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.profile.cleanup()


class Page:
    """One page's DevTools session."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.last_id = 0

    @classmethod
    async def open(cls, url: str) -> Page:
        from tornado.websocket import websocket_connect

        return cls(await websocket_connect(url, max_message_size=256 * 1024 * 1024))

    async def send(self, method: str, **params: Any) -> dict:
        self.last_id += 1
        wanted = self.last_id
        await self.connection.write_message(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:  # events in between are not needed here
            raw = await self.connection.read_message()
            if raw is None:
                raise DevToolsError("the DevTools connection closed")
            message = json.loads(raw)
            if message.get("id") == wanted:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise DevToolsError(f"{details.get('text')}: {details.get('exception', {}).get('description', '')}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float, what: str, interval: float = 0.02,
                       explain: str | None = None) -> Any:
        """The first truthy value of ``expression``; on timeout, the error shows ``explain``'s value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                seen = f"; the page shows {await self.evaluate(explain)!r}"[:3000] if explain else ""
                raise DevToolsError(f"timed out after {timeout:.0f} s waiting for {what}{seen}")
            await asyncio.sleep(interval)

    async def type_text(self, text: str) -> None:
        await self.send("Input.insertText", text=text)

    async def press_enter(self) -> None:
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text="\r", **key)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **key)

    async def close(self) -> None:
        self.connection.close()
