#!/usr/bin/env bash
# Installs the Debian packages the mesh and its tests use, when missing.
set -euo pipefail
declare -A pkg_for=(
  [ip]=iproute2 [ping]=iputils-ping [iperf3]=iperf3 [etcd]=etcd-server [etcdctl]=etcd-client
  [nsenter]=util-linux [tcpdump]=tcpdump [openssl]=openssl [pgrep]=procps
  [podman]=podman [runc]=runc
  [chromium]=chromium
  [wireguard-go]=wireguard-go [wg]=wireguard-tools
)
missing=()
for bin in "${!pkg_for[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${pkg_for[$bin]}")
done
# podman workloads and nsm-cni tests: a static busybox for the project's root filesystem.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
# IPSEC mechanism: strongSwan charon with kernel-libipsec (ESP in userspace), openssl crypto and vici (with swanctl).
[ -x /usr/lib/ipsec/charon ] || missing+=(strongswan-charon)
[ -f /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] || missing+=(libcharon-extra-plugins)
[ -f /usr/lib/ipsec/plugins/libstrongswan-openssl.so ] || missing+=(libstrongswan-standard-plugins)
[ -f /usr/lib/ipsec/plugins/libstrongswan-vici.so ] || missing+=(strongswan-swanctl)
# MEMIF / vhost-user data plane: DPDK 22.11 testpmd and the PMDs it loads (no hugepages needed).
command -v dpdk-testpmd >/dev/null 2>&1 || missing+=(dpdk-dev)
for p in librte-net-memif23 librte-net-vhost23 librte-net-virtio23 librte-net-af-packet23 librte-net-tap23 librte-mempool-ring23; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# VM workloads (runtime: vm): qemu (TCG); the guest kernel is fetched with apt-get download on first use.
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
if [ ! -x /usr/lib/cni/ptp ] && [ ! -x /opt/cni/bin/ptp ]; then missing+=(containernetworking-plugins); fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# etcd-server's package starts a system etcd on 2379: tests start their own members.
if command -v systemctl >/dev/null 2>&1; then systemctl stop etcd >/dev/null 2>&1 || true; fi
# strongswan-starter's system charon is not used (each IPSEC connection runs its own).
if command -v systemctl >/dev/null 2>&1; then systemctl stop strongswan-starter >/dev/null 2>&1 || true; fi
