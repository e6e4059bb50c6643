import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Python with Debian's python3-rpm; the pyenv python on developer machines lacks it. */
export const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/**
 * Fails loudly when a tool a test needs is missing: such a test must never pass silently.
 * CI installs every tool (see .ci/run).
 */
export function requireTool(command: string, hint: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(`This test needs '${command}' (${hint}); install it or run .ci/run`);
  }
}

/** Fails loudly unless /usr/bin/python3 can import rpm (Debian package python3-rpm). */
export function requirePythonRpm(): void {
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import rpm'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error('This test needs librpm for Python (Debian package python3-rpm)');
  }
}

/** rpm.labelCompare for each pair, computed by librpm in one python3 process. */
export function librpmLabelCompare(pairs: [string, string][]): number[] {
  const script = `
import json, sys, rpm
def evr(s):
    e, v, r = None, s, None
    if ':' in v and v.split(':', 1)[0].isdigit():
        e, v = v.split(':', 1)
    if '-' in v:
        v, r = v.rsplit('-', 1)
    return (e, v, r)
out = [rpm.labelCompare(evr(a), evr(b)) for a, b in json.load(sys.stdin)]
json.dump(out, sys.stdout)
`;
  const stdout = execFileSync(SYSTEM_PYTHON, ['-c', script], {
    input: JSON.stringify(pairs),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as number[];
}
