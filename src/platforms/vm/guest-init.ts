// The guest's /init (busybox sh): loads the virtio modules, gives eth0 the connection's MAC-bound
// addresses, MTU and routes read from the kernel command line (nsm.addrs, nsm.routes, nsm.mtu), then
// pings nsm.ping forever, one line per reply on the serial console, so the host can tell the data path works.

/** Module load order: each one's dependencies first (Debian's linux-image-6.1 builds all of them as modules). */
export const GUEST_MODULES = ['virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'failover', 'net_failover', 'virtio_net'];

export const GUEST_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in ${GUEST_MODULES.join(' ')}; do
  insmod /lib/modules/$m.ko || echo "nsm-vm: insmod $m failed"
done
ADDRS=; ROUTES=; MTU=; PING=; INTERVAL=0.2
for kv in $(cat /proc/cmdline); do
  case "$kv" in
    nsm.addrs=*) ADDRS=\${kv#nsm.addrs=} ;;
    nsm.routes=*) ROUTES=\${kv#nsm.routes=} ;;
    nsm.mtu=*) MTU=\${kv#nsm.mtu=} ;;
    nsm.ping=*) PING=\${kv#nsm.ping=} ;;
    nsm.interval=*) INTERVAL=\${kv#nsm.interval=} ;;
  esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
[ -n "$MTU" ] && ip link set eth0 mtu "$MTU"
ip link set eth0 up
for a in $(echo "$ADDRS" | tr , ' '); do ip addr add "$a" dev eth0 || echo "nsm-vm: address $a failed"; done
for r in $(echo "$ROUTES" | tr , ' '); do
  case "$r" in
    *@*) ip route add "\${r%@*}" via "\${r#*@}" dev eth0 || echo "nsm-vm: route $r failed" ;;
    *) ip route add "$r" dev eth0 || echo "nsm-vm: route $r failed" ;;
  esac
done
echo "nsm-vm: eth0 $(cat /sys/class/net/eth0/address) addrs=$ADDRS routes=$ROUTES mtu=$MTU"
if [ -z "$PING" ]; then echo "nsm-vm: ready (no ping target)"; while true; do sleep 3600; done; fi
echo "nsm-vm: pinging $PING every $INTERVAL s"
while true; do ping -i "$INTERVAL" "$PING"; sleep 1; done
`;
