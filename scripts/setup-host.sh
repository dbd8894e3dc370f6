#!/usr/bin/env bash
# One-time host set-up for a clawnode provider on Debian or Ubuntu (run as root):
#   - installs Docker (docker.io), gVisor (runsc) and a static busybox (the sandbox helper);
#   - adds the runsc runtime to the existing Docker daemon config, keeping everything else in it
#     (the host's bridge network and other runtimes stay as they are);
#   - starts Docker if it is not running, and waits for its socket.
# Idempotent: running it again changes nothing on a host that is already set up.
#
# Usage: sudo scripts/setup-host.sh [--no-bridge]
#   --no-bridge   also turn off Docker's default bridge network. Only for hosts where Docker cannot
#                 create one (CI machines and some VMs); clawnode itself never needs a bridge.
set -euo pipefail

no_bridge=0
for arg in "$@"; do
  case "$arg" in
    --no-bridge) no_bridge=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '▸ %s\n' "$*"; }
die() { printf '✗ %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run this as root: sudo $0 $*"
command -v apt-get >/dev/null || die "this script knows Debian and Ubuntu (apt-get); on other systems install Docker, gVisor (runsc) and a static busybox by hand"

config=/etc/docker/daemon.json
socket=/var/run/docker.sock

# 1. Packages.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v runsc >/dev/null || missing+=(runsc)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # (Captured first: with pipefail, grep -q closing the pipe early would fail the whole pipeline.)
  policy=$(apt-cache policy runsc 2>/dev/null || true)
  if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
    die "runsc (gVisor) is not in this system's package lists; add gVisor's apt repository (https://gvisor.dev/docs/user_guide/install/) and run this again"
  fi
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  say "docker.io, runsc and busybox-static are installed"
fi
runsc_path=$(command -v runsc)

# 2. Docker daemon config: add runsc, keep the rest. --network=none makes gVisor skip its own network
# stack set-up; clawnode runs every job with no network anyway.
mkdir -p /etc/docker
before=$( [ -f "$config" ] && sha256sum "$config" | cut -d' ' -f1 || echo none)
if [ "$no_bridge" -eq 1 ]; then
  if [ ! -s "$config" ] || ! grep -q '"bridge"' "$config"; then
    if [ -s "$config" ] && [ "$(tr -d ' \n\t' < "$config")" != "{}" ]; then
      die "$config already has settings; add \"bridge\": \"none\" to it by hand, then run this again"
    fi
    printf '{"bridge":"none"}\n' > "$config"
  fi
fi
[ -s "$config" ] || printf '{}\n' > "$config"
if ! grep -q '"runsc"' "$config"; then
  runsc install -config_file "$config" -runtime runsc -- --network=none >/dev/null 2>&1 || die "could not add runsc to $config"
fi
after=$(sha256sum "$config" | cut -d' ' -f1)
[ "$before" = "$after" ] && say "$config already registers runsc" || say "registered runsc in $config"

# 3. The daemon: start it, or make a running one pick up the new runtime.
has_systemd=0
[ -d /run/systemd/system ] && has_systemd=1
if docker info >/dev/null 2>&1; then
  if [ "$before" != "$after" ]; then
    if [ "$has_systemd" -eq 1 ]; then
      say "restarting Docker to load the new config"
      systemctl restart docker
    else
      # dockerd reloads its runtimes on SIGHUP.
      say "reloading Docker's config"
      kill -HUP "$(pidof dockerd)"
    fi
  fi
else
  if [ "$has_systemd" -eq 1 ]; then
    say "starting Docker (systemd)"
    systemctl enable --now docker >/dev/null 2>&1 || systemctl start docker
  else
    say "starting dockerd (no systemd here; log in /var/log/dockerd.log)"
    setsid nohup dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
  fi
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && break
  sleep 1
done
docker info >/dev/null 2>&1 || die "Docker did not come up within 60 s; see /var/log/dockerd.log or journalctl -u docker"
has_runsc() { local runtimes; runtimes=$(docker info --format '{{json .Runtimes}}' 2>/dev/null || true); grep -q '"runsc"' <<<"$runtimes"; }
for _ in $(seq 1 10); do
  has_runsc && break
  sleep 1
done
has_runsc || die "Docker runs but does not list the runsc runtime; check $config"
say "Docker is up at $socket with the runsc (gVisor) runtime ($runsc_path)"
say "next: clawnode doctor"
