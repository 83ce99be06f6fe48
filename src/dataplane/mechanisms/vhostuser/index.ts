// VHOSTUSER (local, a local extension: upstream's v1 API has no vhost-user mechanism): a client's
// virtio NIC (a VM's vhost-user netdev or a DPDK virtio-user port) joins a vhost-user socket that the
// forwarder serves with DPDK's vhost PMD. The client names the socket file in its own runtime
// directory (socketfile, inodeURL file://PATH, as MEMIF) and connects once the Request returns. The
// forwarder's testpmd is MEMIF's (same tag, start, adoption, release and sweep): vhost port to the
// endpoint's memif on this node, or to the remote mechanism's tunnel (af_packet) toward another node.
import type { IPContext, Mechanism } from '../../../api/index.js';
import { FailedPreconditionError } from '../../../api/errors.js';
import type { LocalMechanism, ProgramContext, Side } from '../../../sdk/tools/mechanism-module.js';
import type { ProgrammedLink } from '../../../sdk/tools/forwarder-dataplane.js';
import { MEMIF, VHOSTUSER, vhostUserMechanism } from '../../../sdk/tools/mechanisms.js';
import { checkSocketfile } from '../common/socket-file.js';
import { run, side } from '../memif/index.js';

async function crossConnect(p: ProgramContext, c: Side, e: Side): Promise<ProgrammedLink[]> {
  await run(p.connId, [
    { kind: 'vhost', socket: c.socketfile! },
    { kind: 'memif', role: 'client', socket: e.socketfile! },
  ]);
  return [];
}

async function joinRemote(p: ProgramContext, workload: Side, tunnel: ProgrammedLink): Promise<ProgrammedLink[]> {
  await run(p.connId, [
    { kind: 'vhost', socket: workload.socketfile! },
    { kind: 'af_packet', iface: tunnel.name },
  ]);
  return [];
}

export const vhostuser: LocalMechanism = {
  cls: 'LOCAL',
  type: VHOSTUSER,
  clientOnly: true,
  crossConnects: [MEMIF],
  check: (m: Mechanism) => checkSocketfile(m, VHOSTUSER),
  accept: (m) => vhostUserMechanism({ ...m.parameters }),
  offer: (_connId, previous) => vhostUserMechanism({ ...(previous?.parameters ?? {}) }),
  clientSide: (m: Mechanism, _ip: IPContext | undefined) => side(m, 'client'),
  endpointSide() {
    throw new FailedPreconditionError('VHOSTUSER attaches clients only (an endpoint is reached by MEMIF or KERNEL)');
  },
  crossConnect,
  joinRemote,
  // No release or sweep of its own: the connection's testpmd carries MEMIF's tag, and MEMIF's release and sweep stop it.
};
