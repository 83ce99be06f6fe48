// The guest's /init (busybox sh): loads the virtio modules, gives eth0 the connection's MAC-bound
// addresses, MTU and routes read from the kernel command line (nsm.addrs, nsm.routes, nsm.mtu), then
// pings nsm.ping forever, one line per reply on the serial console, so the host can tell the data path works.
// With nsm.ctl=1 (an endpoint's VM) it instead serves the host's commands on its second serial port
// (GUEST_CONTROL_LOOP): addresses and routes come and go with the connections while the guest runs.

/** Module load order: each one's dependencies first (Debian's linux-image-6.1 builds all of them as modules). */
export const GUEST_MODULES = ['virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'failover', 'net_failover', 'virtio_net'];

/**
 * The guest's side of the control channel (/dev/ttyS1, raw): one command per line, `<seq> <op> <args>`,
 * answered `<seq> ok` or `<seq> err <message>`. Ops: A addr-add CIDR, a addr-del CIDR, R route-replace
 * PREFIX VIA SRC MTU ("-" for none), r route-del PREFIX, M link MTU, P prime SRC DST (one ping from SRC,
 * so the far side's neighbour entry learns this NIC's MAC), H hello. Arguments are addresses and numbers only.
 */
export const GUEST_CONTROL_LOOP = `control_loop() {
  # One descriptor for the whole loop: a tty closed between reads would drop what arrives meanwhile.
  exec 3<>/dev/ttyS1
  stty -F /dev/ttyS1 raw -echo
  echo "0 ready" >&3
  echo "nsm-vm: serving host commands on ttyS1"
  while read -r seq op a b c d <&3; do
    case "$seq$a$b$c$d" in *[!0-9a-fA-F.:/-]*) echo "$seq err bad argument" >&3; continue ;; esac
    out=; rc=0
    case "$op" in
      H) ;;
      A) out=$(ip addr replace "$a" dev eth0 2>&1) || rc=1 ;;
      a) out=$(ip addr del "$a" dev eth0 2>&1) || rc=1 ;;
      R) set -- "$a" dev eth0
         [ "$b" != - ] && set -- "$@" via "$b"
         [ "$c" != - ] && set -- "$@" src "$c"
         [ "$d" != - ] && set -- "$@" mtu "$d"
         out=$(ip route replace "$@" 2>&1) || rc=1 ;;
      r) out=$(ip route del "$a" dev eth0 2>&1) || rc=1 ;;
      M) out=$(ip link set eth0 mtu "$a" 2>&1) || rc=1 ;;
      P) ping -c 1 -W 1 -I "$a" "$b" < /dev/null > /dev/null 2>&1 3>&- & ;;
      *) out="unknown op $op"; rc=1 ;;
    esac
    if [ $rc = 0 ]; then echo "$seq ok" >&3; else echo "$seq err $(echo $out | tr -d '\\n')" >&3; fi
    echo "nsm-vm: $op $a $b $c $d -> $rc $out"
  done
  echo "nsm-vm: control channel closed"
  while true; do sleep 3600; done
}
`;

export const GUEST_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
${GUEST_CONTROL_LOOP}mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in ${GUEST_MODULES.join(' ')}; do
  insmod /lib/modules/$m.ko || echo "nsm-vm: insmod $m failed"
done
ADDRS=; ROUTES=; MTU=; PING=; INTERVAL=0.2; CTL=
for kv in $(cat /proc/cmdline); do
  case "$kv" in
    nsm.addrs=*) ADDRS=\${kv#nsm.addrs=} ;;
    nsm.routes=*) ROUTES=\${kv#nsm.routes=} ;;
    nsm.mtu=*) MTU=\${kv#nsm.mtu=} ;;
    nsm.ping=*) PING=\${kv#nsm.ping=} ;;
    nsm.interval=*) INTERVAL=\${kv#nsm.interval=} ;;
    nsm.ctl=*) CTL=\${kv#nsm.ctl=} ;;
  esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
# Addresses come and go at run time: no duplicate address detection delay (nor a tentative source).
echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad 2>/dev/null
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
if [ -n "$CTL" ]; then control_loop; fi
if [ -z "$PING" ]; then echo "nsm-vm: ready (no ping target)"; while true; do sleep 3600; done; fi
echo "nsm-vm: pinging $PING every $INTERVAL s"
while true; do ping -i "$INTERVAL" "$PING"; sleep 1; done
`;
