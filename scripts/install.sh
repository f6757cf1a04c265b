#!/usr/bin/env bash
# Installs Reprise as a systemd service: binary, profiles, default config, unit, user and folders.
#   sudo scripts/install.sh            (PREFIX=/usr/local)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${PREFIX:-/usr/local}"
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
  libswresample-dev libavfilter-dev libsqlite3-dev >/dev/null
swift build -c release
install -D -m 0755 .build/release/reprise "$PREFIX/bin/reprise"
install -d "$PREFIX/share/reprise/profiles"
install -m 0644 Profiles/*.yaml "$PREFIX/share/reprise/profiles/"
install -D -m 0644 README.md "$PREFIX/share/doc/reprise/README.md"
id reprise >/dev/null 2>&1 || useradd --system --home /var/lib/reprise --shell /usr/sbin/nologin reprise
install -d -o reprise -g reprise /srv/reprise/incoming /srv/reprise/replays /srv/reprise/quarantine
install -d /etc/reprise/profiles
[ -f /etc/reprise/reprise.yaml ] || install -m 0644 systemd/reprise.yaml /etc/reprise/reprise.yaml
install -m 0644 systemd/reprise.service /etc/systemd/system/reprise.service
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now reprise
  systemctl --no-pager status reprise | head -5
else
  echo "systemd is not running here: start by hand with: $PREFIX/bin/reprise daemon --config /etc/reprise/reprise.yaml"
fi
