#!/usr/bin/env bash
# Installs the system packages the tests need on a fresh Debian 12 machine:
# Mesa's lavapipe Vulkan driver from bookworm-backports (Dawn needs Mesa >= 25) and Chromium
# (its SwiftShader WebGPU runs the end-to-end tests). Idempotent; needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ ! -f /etc/apt/sources.list.d/bookworm-backports.sources ]; then
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
    > /etc/apt/sources.list.d/bookworm-backports.sources
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends libvulkan1 chromium fonts-dejavu-core >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "system packages ready: $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) mesa, $(chromium --version 2>/dev/null)"
