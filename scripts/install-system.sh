#!/usr/bin/env bash
# Debian packages hullcheck's tests, demo and benchmarks need. Idempotent; run as root.
set -euo pipefail
packages=(docker.io debootstrap skopeo zstd iptables libcommons-lang3-java python3-venv make
  postgresql locales openssh-server time docker-registry apache2-utils
  golang-docker-credential-helpers pass gnupg)
# Node.js and npm build the npm test image; the machine's own copy is fine when present.
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The PostgreSQL store tests run a cluster in en_US.UTF-8, where text does not sort by bytes.
if ! locale -a 2>/dev/null | grep -qx 'en_US.utf8'; then
  sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  grep -qx 'en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen
  locale-gen >/dev/null
fi
