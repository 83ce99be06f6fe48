import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkService, NetworkServiceEndpoint } from '../../../src/api/index.js';
import { matchNS, matchNSE, type NSEQueryFields, type NSQueryFields } from '../../../src/sdk/registry/match.js';

const nse = NetworkServiceEndpoint.fromPartial({
  name: 'nse-icmp-1',
  networkServiceNames: ['icmp-responder', 'vl3'],
  networkServiceLabels: { 'icmp-responder': { labels: { app: 'icmp', zone: 'a' } }, vl3: { labels: {} } },
  url: 'tcp://169.254.0.1:5002',
});

describe('matchNSE', () => {
  const table: [string, NSEQueryFields | undefined, boolean][] = [
    ['no query', undefined, true],
    ['empty query', {}, true],
    ['exact name', { name: 'nse-icmp-1' }, true],
    ['substring name', { name: 'icmp' }, true],
    ['other name', { name: 'nse-2' }, false],
    ['one service present', { networkServiceNames: ['vl3'] }, true],
    ['all services present', { networkServiceNames: ['vl3', 'icmp-responder'] }, true],
    ['a service missing', { networkServiceNames: ['vl3', 'other'] }, false],
    ['labels subset', { networkServiceLabels: { 'icmp-responder': { labels: { app: 'icmp' } } } }, true],
    ['labels equal', { networkServiceLabels: { 'icmp-responder': { labels: { app: 'icmp', zone: 'a' } } } }, true],
    ['label value differs', { networkServiceLabels: { 'icmp-responder': { labels: { app: 'x' } } } }, false],
    ['label key missing', { networkServiceLabels: { 'icmp-responder': { labels: { tier: 'x' } } } }, false],
    ['service of labels missing', { networkServiceLabels: { other: { labels: {} } } }, false],
    ['service with empty labels', { networkServiceLabels: { vl3: { labels: {} } } }, true],
    ['url substring', { url: '169.254.0.1' }, true],
    ['url differs', { url: '169.254.0.2' }, false],
    ['everything', { name: 'nse', networkServiceNames: ['icmp-responder'], url: 'tcp://', networkServiceLabels: { vl3: { labels: {} } } }, true],
  ];
  for (const [what, query, want] of table) {
    it(what, () => assert.equal(matchNSE(query, nse), want));
  }
});

describe('matchNS', () => {
  const ns = NetworkService.fromPartial({ name: 'icmp-responder', payload: 'ETHERNET' });
  const table: [string, NSQueryFields | undefined, boolean][] = [
    ['no query', undefined, true],
    ['empty', {}, true],
    ['substring name', { name: 'icmp' }, true],
    ['other name', { name: 'vl3' }, false],
    ['payload equal', { payload: 'ETHERNET' }, true],
    ['payload differs', { payload: 'IP' }, false],
    ['payload is not substring-matched', { payload: 'ETHER' }, false],
  ];
  for (const [what, query, want] of table) {
    it(what, () => assert.equal(matchNS(query, ns), want));
  }
});
