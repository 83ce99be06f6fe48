import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mechanism } from '../../../src/api/index.js';
import { CLS_LOCAL, CLS_REMOTE, describeMechanisms, isKernel, isVxlan, kernelMechanism, KERNEL, P, VXLAN, vxlanMechanism } from '../../../src/sdk/tools/mechanisms.js';

describe('mechanisms', () => {
  it('builds LOCAL/KERNEL and REMOTE/VXLAN with parameters', () => {
    const k = kernelMechanism({ [P.name]: 'eth1' });
    assert.deepEqual([k.cls, k.type, k.parameters], [CLS_LOCAL, KERNEL, { name: 'eth1' }]);
    const v = vxlanMechanism({ [P.srcIp]: '169.254.0.1', [P.vni]: '42' });
    assert.deepEqual([v.cls, v.type, v.parameters], [CLS_REMOTE, VXLAN, { src_ip: '169.254.0.1', vni: '42' }]);
  });

  it('classifies by type', () => {
    assert.equal(isKernel(kernelMechanism({})), true);
    assert.equal(isKernel(vxlanMechanism({})), false);
    assert.equal(isKernel(undefined), false);
    assert.equal(isVxlan(vxlanMechanism({})), true);
    assert.equal(isVxlan(Mechanism.fromPartial({ type: 'MEMIF' })), false);
  });

  it('describes a preference list', () => {
    assert.equal(describeMechanisms([]), '(none)');
    assert.equal(describeMechanisms([kernelMechanism({}), vxlanMechanism({})]), 'LOCAL/KERNEL, REMOTE/VXLAN');
  });

  it('spells the parameter keys as upstream does', () => {
    assert.deepEqual(P, { name: 'name', inodeURL: 'inodeURL', netnsInode: 'netnsInode', srcIp: 'src_ip', dstIp: 'dst_ip', vni: 'vni', mtu: 'MTU', socketfile: 'socketfile' });
  });
});
