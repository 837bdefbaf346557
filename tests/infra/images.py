"""Test images, built locally and cached (no registry is reachable).

* ``debian``: ``debootstrap --variant=minbase bookworm``, apt caches removed, ``docker import``.
* ``python``: + 10 PyPI packages installed with ``pip install --target`` and COPY'd in.
* ``npm``: + express and its dependencies (≈60 packages) from ``npm install``, COPY'd in.
* ``layers``: + .deb packages built with ``dpkg-deb --build`` (exact versions, a source
  package, a Debian-owned Python distribution), then later layers that purge one package,
  delete one Python package and replace a directory (whiteouts and an opaque directory).
* ``binaries``: a Go binary (Debian's runc) and a Java archive (Debian's commons-lang3).
* ``alpine``, ``rpm-sqlite``, ``ubuntu``: real package databases from
  tests/data/fixtures (copied from shared/vulndata) wrapped into small images.

Each image is tagged ``hc-test/NAME:RECIPE`` where RECIPE hashes its inputs, so a changed
recipe rebuilds and an unchanged one is reused from the engine's data root.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import textwrap
from collections.abc import Callable

import docker

from tests.infra.cache import CACHE, MIRROR

# real package databases copied from shared/vulndata (origin and licence in its README)
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "fixtures")
PYTHON_PACKAGES = (
    "requests==2.31.0",
    "urllib3==2.0.7",
    "idna==3.4",
    "certifi==2023.7.22",
    "charset-normalizer==3.3.0",
    "six==1.16.0",
    "PyYAML==6.0.1",
    "Jinja2==3.1.2",
    "MarkupSafe==2.1.3",
    "click==8.1.7",
)
NPM_PACKAGES = ("express@4.18.2",)
# /etc/os-release of Debian 7 (wheezy), as the base-files package of that release wrote it
WHEEZY_OS_RELEASE = (
    b'PRETTY_NAME="Debian GNU/Linux 7 (wheezy)"\nNAME="Debian GNU/Linux"\nVERSION_ID="7"\n'
    b'VERSION="7 (wheezy)"\nID=debian\nANSI_COLOR="1;31"\nHOME_URL="http://www.debian.org/"\n'
    b'SUPPORT_URL="http://www.debian.org/support/"\nBUG_REPORT_URL="http://bugs.debian.org/"\n'
)
SITE = "/usr/local/lib/python3.11/site-packages"


def _run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def rootfs_tarball() -> str:
    """The cached Debian 12 minbase rootfs as a tar (≈30 s to build once)."""
    target = os.path.join(CACHE, "bookworm-minbase.tar")
    if os.path.exists(target):
        return target
    os.makedirs(CACHE, exist_ok=True)
    root = os.path.join(CACHE, "bookworm-rootfs")
    shutil.rmtree(root, ignore_errors=True)
    _run(["debootstrap", "--variant=minbase", "bookworm", root, MIRROR])
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in os.listdir(os.path.join(root, junk)):
            path = os.path.join(root, junk, entry)
            if os.path.isfile(path) and entry not in ("lock",):
                os.unlink(path)
    _run(["tar", "-C", root, "--numeric-owner", "-cf", target + ".tmp", "."])
    os.replace(target + ".tmp", target)
    shutil.rmtree(root, ignore_errors=True)
    return target


class ImageFactory:
    """Builds (or finds) the test images in one engine."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.work = os.path.join(CACHE, "contexts")
        os.makedirs(self.work, exist_ok=True)

    def _exists(self, tag: str) -> bool:
        try:
            self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return False
        return True

    def debian(self) -> str:
        tarball = rootfs_tarball()
        tag = f"hc-test/debian:{_digest('debian', str(os.path.getsize(tarball)))}"
        if not self._exists(tag):
            repository, _, version = tag.partition(":")
            with open(tarball, "rb") as handle:
                self.client.api.import_image_from_data(handle, repository=repository, tag=version)
        return tag

    def _build(self, name: str, recipe: str, prepare: Callable[[str], str]) -> str:
        tag = f"hc-test/{name}:{_digest(name, recipe)}"
        if self._exists(tag):
            return tag
        context = os.path.join(self.work, name)
        shutil.rmtree(context, ignore_errors=True)
        os.makedirs(context)
        dockerfile = prepare(context)
        with open(os.path.join(context, "Dockerfile"), "w") as handle:
            handle.write(dockerfile)
        self.client.images.build(path=context, tag=tag, rm=True, forcerm=True)
        return tag

    def python(self) -> str:
        base = self.debian()

        def prepare(context: str) -> str:
            _run(
                [
                    "python3",
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--python-version",
                    "3.11",
                    "--platform",
                    "manylinux2014_x86_64",
                    "--target",
                    os.path.join(context, "site"),
                    *PYTHON_PACKAGES,
                ]
            )
            return f"FROM {base}\nCOPY site {SITE}\n"

        return self._build("python", base + ";".join(PYTHON_PACKAGES), prepare)

    def npm(self) -> str:
        base = self.debian()

        def prepare(context: str) -> str:
            app = os.path.join(context, "app")
            os.makedirs(app)
            with open(os.path.join(app, "package.json"), "w") as handle:
                handle.write('{"name": "hc-test-app", "version": "1.0.0", "private": true}\n')
            _run(
                [
                    "npm",
                    "install",
                    "--silent",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--prefix",
                    app,
                    *NPM_PACKAGES,
                ]
            )
            return f"FROM {base}\nCOPY app /srv/app\n"

        return self._build("npm", base + ";".join(NPM_PACKAGES), prepare)

    def layers(self) -> str:
        base = self.python()

        def prepare(context: str) -> str:
            debs = os.path.join(context, "debs")
            os.makedirs(debs)
            _deb(
                debs,
                "hc-demo-tool",
                "1.2.3-1",
                source="hc-demo (1.2.3-1)",
                files={"usr/share/hc-demo/README": b"hullcheck demo\n"},
            )
            _deb(
                debs,
                "hc-demo-data",
                "0.9-2",
                source="hc-demo (1.2.3-1)",
                files={"usr/share/hc-demo/data": b"data\n"},
            )
            metadata = os.path.join(FIXTURES, "python", "debian-python3-yaml_PyYAML-6.0.dist-info")
            files = {}
            for entry in sorted(os.listdir(metadata)):
                with open(os.path.join(metadata, entry), "rb") as handle:
                    files[f"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/{entry}"] = (
                        handle.read()
                    )
            _deb(debs, "python3-yaml", "6.0-3+b2", source="pyyaml", files=files)
            return textwrap.dedent(f"""\
                FROM {base}
                COPY debs /tmp/debs
                RUN dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs
                RUN dpkg --purge hc-demo-data
                RUN rm -rf {SITE}/six.py {SITE}/six-1.16.0.dist-info
                RUN rm -rf {SITE}/click {SITE}/click-8.1.7.dist-info && mkdir -p /opt/plugins
                RUN rm -rf /opt/plugins && mkdir /opt/plugins && touch /opt/plugins/.keep
                """)

        return self._build("layers", base + "layers-v1", prepare)

    def binaries(self) -> str:
        base = self.debian()
        runc = shutil.which("runc") or "/usr/sbin/runc"
        jar = "/usr/share/java/commons-lang3.jar"

        def prepare(context: str) -> str:
            shutil.copy(runc, os.path.join(context, "runc"))
            shutil.copy(jar, os.path.join(context, "commons-lang3.jar"))
            return (
                f"FROM {base}\nCOPY runc /usr/local/bin/runc\n"
                "COPY commons-lang3.jar /opt/app/lib/commons-lang3.jar\n"
            )

        recipe = f"{base};{os.path.getsize(runc)};{os.path.getsize(jar)}"
        return self._build("binaries", recipe, prepare)

    def _db_image(self, name: str, files: dict[str, bytes]) -> str:
        recipe = ";".join(f"{k}:{hashlib.sha256(v).hexdigest()}" for k, v in sorted(files.items()))

        def prepare(context: str) -> str:
            lines = ["FROM scratch"]
            for index, (path, data) in enumerate(sorted(files.items())):
                with open(os.path.join(context, f"f{index}"), "wb") as handle:
                    handle.write(data)
                lines.append(f"COPY f{index} {path}")
            return "\n".join(lines) + "\n"

        return self._build(name, recipe, prepare)

    def alpine(self) -> str:
        db = _read(FIXTURES, "apk", "alpine-3.18_lib_apk_db_installed")
        # os-release written by the fixture to name the release the database came from
        release = b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.18.0\n'
        return self._db_image("alpine", {"/lib/apk/db/installed": db, "/etc/os-release": release})

    def rpm_sqlite(self) -> str:
        db = _read(FIXTURES, "rpm", "cbl-mariner-2.0_rpmdb.sqlite")
        release = b'NAME="Common Base Linux Mariner"\nID=mariner\nVERSION_ID="2.0"\n'
        return self._db_image(
            "rpm-sqlite", {"/var/lib/rpm/rpmdb.sqlite": db, "/etc/os-release": release}
        )

    def ubuntu(self) -> str:
        db = _read(FIXTURES, "dpkg", "ubuntu-18.04_var_lib_dpkg_status")
        release = b'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="18.04"\nVERSION_CODENAME=bionic\n'
        return self._db_image(
            "ubuntu",
            {
                "/var/lib/dpkg/status": db,
                "/usr/lib/os-release": release,
            },
        )

    def wheezy_bash(self) -> str:
        """Debian 7 with bash 4.2+dfsg-0.1: vulnerable to shellshock (CVE-2014-6271)."""
        return self._wheezy("4.2+dfsg-0.1")

    def wheezy_bash_fixed(self) -> str:
        """Debian 7 with bash 4.2+dfsg-0.1+deb7u3: fixed by DSA-3032-1 and DSA-3035-1."""
        return self._wheezy("4.2+dfsg-0.1+deb7u3")

    def _wheezy(self, version: str) -> str:
        """A dpkg database written by real dpkg, holding one bash package at ``version``.

        The database is made by ``dpkg --root`` in a build stage and copied into an empty image
        with the os-release of Debian 7 (its real text), so no Debian 12 package is left in it.
        """
        base = self.debian()

        def prepare(context: str) -> str:
            debs = os.path.join(context, "debs")
            os.makedirs(debs)
            _deb(
                debs,
                "bash",
                version,
                source="bash",
                files={"usr/share/doc/bash/README.hullcheck": b"shellshock test package\n"},
            )
            with open(os.path.join(context, "os-release"), "wb") as handle:
                handle.write(WHEEZY_OS_RELEASE)
            return textwrap.dedent(f"""\
                FROM {base} AS dpkg
                COPY debs /tmp/debs
                RUN mkdir -p /w/var/lib/dpkg/info /w/var/lib/dpkg/updates \\
                    && touch /w/var/lib/dpkg/status \\
                    && dpkg --root=/w --force-all -i /tmp/debs/*.deb
                FROM scratch
                COPY --from=dpkg /w /
                COPY os-release /etc/os-release
                """)

        return self._build("wheezy-bash", base + version, prepare)

    def save(self, tag: str) -> str:
        """docker-archive of an image, cached by image ID."""
        image = self.client.images.get(tag)
        target = os.path.join(CACHE, "archives", image.id.split(":")[1][:16] + ".tar")
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target + ".tmp", "wb") as handle:
                for chunk in self.client.api.get_image(tag):
                    handle.write(chunk)
            os.replace(target + ".tmp", target)
        return target

    def oci(self, tag: str, kind: str = "oci", compression: str | None = None) -> str:
        """OCI layout directory (``oci``) or archive (``oci-archive``) made with skopeo."""
        archive = self.save(tag)
        suffix = f"-{compression}" if compression else ""
        base = os.path.basename(archive)[:-4]
        target = os.path.join(CACHE, "oci", f"{base}{suffix}" + (".tar" if kind != "oci" else ""))
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            temporary = target + ".tmp"
            shutil.rmtree(temporary, ignore_errors=True)
            command = ["skopeo", "copy", "--quiet"]
            if compression:
                command += ["--dest-compress", "--dest-compress-format", compression]
            _run([*command, f"docker-archive:{archive}", f"{kind}:{temporary}:{tag}"])
            os.replace(temporary, target)
        return target


def _read(*parts: str) -> bytes:
    with open(os.path.join(*parts), "rb") as handle:
        return handle.read()


def _deb(directory: str, name: str, version: str, *, source: str, files: dict[str, bytes]) -> None:
    """A real .deb built with dpkg-deb from the given files."""
    root = os.path.join(directory, f"{name}-build")
    os.makedirs(os.path.join(root, "DEBIAN"))
    for path, data in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as handle:
            handle.write(data)
    control = textwrap.dedent(f"""\
        Package: {name}
        Version: {version}
        Source: {source}
        Architecture: all
        Maintainer: hullcheck tests <tests@hullcheck.invalid>
        Description: hullcheck test package
        """)
    with open(os.path.join(root, "DEBIAN", "control"), "w") as handle:
        handle.write(control)
    _run(
        [
            "dpkg-deb",
            "--root-owner-group",
            "--build",
            root,
            os.path.join(directory, f"{name}_{version}_all.deb"),
        ]
    )
    shutil.rmtree(root)


def layer_tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    """A tar stream from explicit members (for hostile-layer tests)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()
