#!/usr/bin/env node
// A plugin of the long-lived protocol: started once as `plugin.mjs --lines`, one request per
// line on stdin, one answer per line on stdout. It records each start (starts.log) and each
// request (requests.jsonl) in its folder, and exits at the end of stdin.
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

if (process.argv[2] !== '--lines') {
  process.stderr.write('this plugin speaks only the lines protocol\n');
  process.exit(2);
}
appendFileSync('starts.log', `${process.pid}\n`);
const revision = {
  revision: 'app-1',
  timestamp: '2026-01-01T00:00:00.000Z',
  data: { 'BUILD-ID': '1' },
};
const answers = {
  'repository-configuration': () => ({ URL: { 'display-name': 'URL', 'display-order': '0' } }),
  'package-configuration': () => ({ NAME: { 'display-name': 'Name', 'display-order': '0' } }),
  'validate-repository-configuration': () => [],
  'validate-package-configuration': () => [],
  'check-repository-connection': () => ({ status: 'success', messages: ['reached'] }),
  'check-package-connection': () => ({ status: 'success', messages: ['found app-1'] }),
  'latest-revision': () => revision,
  'latest-revision-since': () => null,
};
for await (const line of createInterface({ input: process.stdin })) {
  const { id, 'request-name': name, 'request-body': body } = JSON.parse(line);
  appendFileSync('requests.jsonl', `${JSON.stringify({ name, body })}\n`);
  const answer = answers[name];
  const response = answer
    ? {
        id,
        'response-code': 200,
        'response-body': answer() === null ? '' : JSON.stringify(answer()),
      }
    : { id, 'response-code': 400, 'response-body': `Invalid request name ${name}` };
  process.stdout.write(`${JSON.stringify(response)}\n`);
}
