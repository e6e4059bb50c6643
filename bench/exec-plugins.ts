import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createMemoryState, type PreviousRevision } from 'hoist';
import { createPluginRuntime } from '../server/plugin-runtime.ts';
import { loadExecPlugin } from '../server/plugins/exec-plugin.ts';
import { endLinePlugins } from '../server/plugins/line-channel.ts';

/**
 * The cost of executable plugins: 1,000 exec-plugin materials, each polled once a minute, is
 * 1,000 `latest-revision-since` processes a minute. A round polls `sample` materials, 16 at
 * once (the poller's default), and measures its wall time and the CPU it took, the plugin
 * processes' included (Linux: the children's times in /proc/self/stat), scaled to `materials`.
 * The same round with the two validation messages each poll used to send beside it shows what
 * validating on save saves.
 */
export async function execPluginCost(
  say: (line?: string) => void,
  dir: string,
  materials: number,
  sample: number,
): Promise<void> {
  const plugins = writePlugins(dir);
  say();
  say(`## Executable plugins: ${materials} materials polled once a minute`);
  say();
  say(
    `Each row polls ${sample} materials, 16 at once as the poller does, and scales the figures to ${materials} (load average before: ${loadavg()[0]?.toFixed(1)}).`,
  );
  say();
  say(
    `| plugin | messages per poll | per poll: wall, CPU | round of ${materials} | CPU at one round a minute |`,
  );
  say('|---|---|---|---|---|');
  for (const [kind, executable] of Object.entries(plugins)) {
    const protocol = kind.includes('lines') ? 'lines' : 'process';
    for (const validate of protocol === 'lines' ? [false] : [false, true]) {
      const { wall, cpu } = await round(executable, sample, validate, protocol);
      const perPoll = wall / sample;
      const cpuPerPoll = cpu / sample;
      say(
        `| ${kind} | ${validate ? '3 (before: validate both, then since)' : '1 (latest-revision-since)'} | ${(perPoll * 1000).toFixed(1)} ms, ${(cpuPerPoll * 1000).toFixed(1)} ms | ${(perPoll * materials).toFixed(1)} s | ${((cpuPerPoll * materials * 100) / 60).toFixed(0)} % of one core |`,
      );
    }
  }
  say();
  say(`Load average after: ${loadavg()[0]?.toFixed(1)}.`);
}

async function round(
  executable: string,
  materials: number,
  validate: boolean,
  protocol: 'process' | 'lines',
) {
  const plugin = await loadExecPlugin({
    id: 'bench-exec',
    version: '1',
    executable,
    cwd: '.',
    protocol,
  });
  const runtime = createPluginRuntime({ extraPlugins: [plugin], isolate: false });
  const repo = { URL: 'http://repo.test' };
  const pkg = { NAME: 'app' };
  const previous: PreviousRevision = {
    revision: 'app-1',
    timestamp: '2026-01-01T00:00:00.000Z',
    data: { VERSION: '1' },
  };
  const before = cpuSeconds();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < materials) {
        if (validate) await runtime.host.validatePackage('bench-exec', repo, pkg);
        await runtime.host.latestRevisionsSince('bench-exec', repo, pkg, previous, {
          state: createMemoryState(),
        });
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  // A long-lived plugin's CPU counts once it has exited (its 1 start is in the figure).
  await endLinePlugins();
  const cpu = cpuSeconds() - before;
  await runtime.close();
  return { wall, cpu };
}

/** This process's CPU and that of its waited-for children, in seconds (Linux). */
function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime, stime, cutime, cstime are fields 14-17 (1-based); [0] here is field 3.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks / 100;
}

/** The same tiny plugin three ways: a shell script, Python and Node. */
function writePlugins(dir: string): Record<string, string> {
  const config = '{"URL":{"display-name":"URL","display-order":"0"}}';
  const pkg = '{"NAME":{"display-name":"Name","display-order":"0"}}';
  const revision =
    '{"revision":"app-1","timestamp":"2026-01-01T00:00:00.000Z","data":{"VERSION":"1"}}';
  const sh = join(dir, 'plugin.sh');
  writeFileSync(
    sh,
    `#!/bin/sh\ncat >/dev/null\ncase "$1" in\n  repository-configuration) echo '${config}';;\n  package-configuration) echo '${pkg}';;\n  validate-*) echo '[]';;\n  latest-revision) echo '${revision}';;\n  latest-revision-since) echo '';;\n  *) echo '{"status":"success","messages":[]}';;\nesac\n`,
    { mode: 0o755 },
  );
  const answers = `{"repository-configuration": ${JSON.stringify(config)}, "package-configuration": ${JSON.stringify(pkg)}, "latest-revision": ${JSON.stringify(revision)}}`;
  const py = join(dir, 'plugin.py');
  writeFileSync(
    py,
    `#!/usr/bin/env python3\nimport json, sys\nsys.stdin.read()\nname = sys.argv[1]\nanswers = ${answers}\nprint(answers.get(name, "[]" if name.startswith("validate") else ""))\n`,
    { mode: 0o755 },
  );
  const node = join(dir, 'plugin.mjs');
  writeFileSync(
    node,
    `#!/usr/bin/env node\nimport { readFileSync } from 'node:fs';\nreadFileSync(0);\nconst name = process.argv[2];\nconst answers = ${answers};\nprocess.stdout.write(answers[name] ?? (name.startsWith('validate') ? '[]' : ''));\n`,
    { mode: 0o755 },
  );
  const pyLines = join(dir, 'plugin-lines.py');
  writeFileSync(
    pyLines,
    `#!/usr/bin/env python3\nimport json, sys\nanswers = ${answers}\nfor line in sys.stdin:\n    r = json.loads(line)\n    name = r["request-name"]\n    body = answers.get(name, "[]" if name.startswith("validate") else "")\n    sys.stdout.write(json.dumps({"id": r["id"], "response-code": 200, "response-body": body}) + "\\n")\n    sys.stdout.flush()\n`,
    { mode: 0o755 },
  );
  const nodeLines = join(dir, 'plugin-lines.mjs');
  writeFileSync(
    nodeLines,
    `#!/usr/bin/env node\nimport { createInterface } from 'node:readline';\nconst answers = ${answers};\nfor await (const line of createInterface({ input: process.stdin })) {\n  const r = JSON.parse(line);\n  const name = r['request-name'];\n  const body = answers[name] ?? (name.startsWith('validate') ? '[]' : '');\n  process.stdout.write(JSON.stringify({ id: r.id, 'response-code': 200, 'response-body': body }) + '\\n');\n}\n`,
    { mode: 0o755 },
  );
  return {
    'shell (sh)': sh,
    'Python 3': py,
    'Python 3 (lines)': pyLines,
    'Node.js': node,
    'Node.js (lines)': nodeLines,
  };
}
