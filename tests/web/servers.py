"""`shora serve` as a real process: start it, read its login link, log in with httpx."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from test_cli import base_env

LINK = re.compile(r"(http://[^\s]+/login\?token=[\w-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Served:
    """One `shora serve` process with its home, port and login link."""

    def __init__(
        self,
        home: Path,
        *args: str,
        passphrase: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        environment = base_env()
        environment["SHORA_HOME"] = str(home)
        if passphrase is not None:
            environment["SHORA_PASSPHRASE"] = passphrase
        environment.update(env or {})
        self.home = home
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shora.cli.main",
                "serve",
                *args,
                *(() if "--port" in args else ("--port", "0")),
            ],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"shora serve ended: {self.lines} {self.stop()}")
            self.lines.append(line.strip())
            found = LINK.search(line)
            if found:
                self.link = found.group(1)
                break
        self.base = self.link.split("/login")[0]
        self.port = int(self.base.rsplit(":", 1)[1])

    def client(self) -> httpx.Client:
        """A logged-in client (this spends the one-time link)."""
        client = httpx.Client(base_url=self.base, timeout=60)
        assert client.get(self.link).status_code == 200
        return client

    def csrf(self, client: httpx.Client, path: str = "/councils") -> str:
        found = CSRF.search(client.get(path, follow_redirects=True).text)
        assert found is not None
        return found.group(1)

    def stop(self) -> str:
        """SIGTERM, as Ctrl-C would; return what it wrote on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        # Not communicate(): it reads the pipes' file descriptors and would miss what
        # readline() has already buffered.
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.lines += self.proc.stdout.read().splitlines()
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return err
