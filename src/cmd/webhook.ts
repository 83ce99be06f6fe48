// `nsm webhook`: the mutating admission webhook (HTTPS, AdmissionReview v1) that adds the NSM client
// to pods annotated `networkservicemesh.io: kernel://svc/nsm-1` (logic in platforms/k8s).
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { NSM_ANNOTATION } from '../platforms/k8s/admission.js';
import { startWebhookServer } from '../platforms/k8s/webhook-server.js';
import { createLogger } from '../sdk/core/log.js';
import { usageError } from './cli-error.js';
import { waitForSignal } from './cli-options.js';

interface WebhookFlags {
  listen: string;
  certFile: string;
  keyFile: string;
  image: string;
  annotation: string;
}

export function registerWebhookCommand(program: Command): void {
  program
    .command('webhook')
    .description('mutating admission webhook: adds the NSM client to pods annotated networkservicemesh.io')
    .addOption(new Option('--listen <host:port>', 'HTTPS address').env('NSM_LISTEN_ON').default('0.0.0.0:8443'))
    .addOption(new Option('--cert-file <file>', 'PEM server certificate').env('NSM_CERT_FILE_PATH').makeOptionMandatory())
    .addOption(new Option('--key-file <file>', 'PEM key of the certificate').env('NSM_KEY_FILE_PATH').makeOptionMandatory())
    .addOption(new Option('--image <image>', 'nsm image of the added containers').env('NSM_CONTAINER_IMAGE').default('nsm-ts:latest'))
    .addOption(new Option('--annotation <key>', 'annotation that asks for NSM').env('NSM_ANNOTATION').default(NSM_ANNOTATION))
    .action(async (flags: WebhookFlags) => {
      const m = /^(.*):(\d+)$/.exec(flags.listen);
      if (!m || Number(m[2]) > 65535) usageError(`--listen: ${JSON.stringify(flags.listen)}: want host:port`);
      for (const [flag, file] of [['--cert-file', flags.certFile], ['--key-file', flags.keyFile]] as const) {
        if (!existsSync(file)) usageError(`${flag}: no such file: ${file}`);
      }
      const log = createLogger('webhook');
      const server = await startWebhookServer({ certFile: flags.certFile, keyFile: flags.keyFile, host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), image: flags.image, annotation: flags.annotation, log });
      process.stdout.write(`webhook listening on https://${flags.listen.replace(/:\d+$/, '')}:${server.port}\n`);
      log.info({ signal: await waitForSignal(log) }, 'shutting down');
      await server.close();
      log.flush(() => process.exit(0));
    });
}
