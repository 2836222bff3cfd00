"""Open a page in headless Chromium (Debian's package) for rendering checks.

The flags keep Chromium off the network (the machine has none) and out of
any profile; as root it needs --no-sandbox.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], timeout: float = 90) -> subprocess.CompletedProcess:
    exe = chromium_path()
    if exe is None:
        raise RuntimeError("Chromium is not installed (.ci/run installs Debian's chromium package)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )


def dump_dom(html: Path) -> str:
    """The DOM after the page ran its scripts, as Chromium serialises it."""
    proc = _run(["--virtual-time-budget=3000", "--dump-dom", html.resolve().as_uri()])
    return proc.stdout


def screenshot(html: Path, png: Path, *, width: int = 1280, height: int = 2400) -> Path:
    """A PNG of the page as a reader would see it."""
    _run([f"--screenshot={png}", f"--window-size={width},{height}", "--virtual-time-budget=3000", html.resolve().as_uri()])
    if not png.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot for {html}")
    return png
