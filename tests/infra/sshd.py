"""A private OpenSSH server in front of a private engine, for ``ssh://`` hosts.

The server (Debian's ``openssh-server``) listens on 127.0.0.1 on a port of its own and lets in
one key of one user (root). The key's forced command is what ``docker -H ssh://…`` runs on a
remote machine, ``docker system dial-stdio``, here towards the private engine's socket. The
client side reads ``~/.ssh/config`` and ``~/.ssh/known_hosts`` of ``home``: a test sets
``HOME`` to it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import IO

SSHD = "/usr/sbin/sshd"


@dataclass
class PrivateSshd:
    directory: str
    engine_socket: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def home(self) -> str:
        """A home directory whose ``.ssh`` knows this server and holds the authorised key."""
        return os.path.join(self.directory, "home")

    def url(self, user: str = "root") -> str:
        return f"ssh://{user}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None:
            raise RuntimeError("OpenSSH is not installed (apt-get install openssh-server)")
        os.makedirs(os.path.join(self.home, ".ssh"), mode=0o700, exist_ok=True)
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        self.port = _free_port()
        keys = {}
        for name in ("host", "client"):
            key = os.path.join(self.directory, f"{name}_key")
            if not os.path.exists(key):
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True
                )
            with open(key + ".pub") as handle:
                keys[name] = handle.read().strip()
        command = f"DOCKER_HOST=unix://{self.engine_socket} exec docker system dial-stdio"
        self._write(
            "authorized_keys",
            f'command="{command}",no-pty,no-port-forwarding,no-agent-forwarding,'
            f"no-X11-forwarding {keys['client']}\n",
        )
        self._write(
            "sshd_config",
            f"Port {self.port}\nListenAddress 127.0.0.1\n"
            f"HostKey {self.directory}/host_key\nPidFile {self.directory}/sshd.pid\n"
            f"AuthorizedKeysFile {self.directory}/authorized_keys\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nAllowUsers root\nStrictModes no\nUsePAM no\n"
            "LogLevel ERROR\n",
        )
        self._write("home/.ssh/known_hosts", f"[127.0.0.1]:{self.port} {keys['host']}\n")
        self._write(
            "home/.ssh/config",
            f"Host 127.0.0.1\n  IdentityFile {self.directory}/client_key\n",
        )
        log = open(os.path.join(self.directory, "sshd.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.log = log
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", os.path.join(self.directory, "sshd_config")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"sshd exited; see {log.name}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sshd did not listen on {self.port} in {timeout}s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def _write(self, name: str, text: str) -> None:
        with open(os.path.join(self.directory, name), "w") as handle:
            handle.write(text)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
