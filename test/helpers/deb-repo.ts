import { execFileSync } from 'node:child_process';
import { requireTool } from './tools.ts';

/** `dpkg --compare-versions` on each pair (-1, 0 or 1; NaN when dpkg refuses a version), in one shell. */
export function dpkgCompare(pairs: [string, string][]): number[] {
  requireTool('dpkg', 'Debian package dpkg');
  const script = `
while IFS=' ' read -r a b; do
  if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo -1
  elif dpkg --compare-versions "$a" gt "$b" 2>/dev/null; then echo 1
  elif [ $? -eq 1 ]; then echo 0
  else echo error; fi
done`;
  const stdout = execFileSync('bash', ['-c', script], {
    input: `${pairs.map(([a, b]) => `${a} ${b}`).join('\n')}\n`,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return stdout.trim().split('\n').map(Number);
}
