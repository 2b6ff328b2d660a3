/**
 * The `factum` command as installed: the bin runs from any working directory (it loads tsx
 * itself), every command has --help, and `factum serve` is the server `factum` alone runs.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACTUM_BIN, runFactumProcess, spawnFactum } from './backup/factum.ts';

let elsewhere: string;
let linked: string;
beforeAll(async () => {
  // Where npm puts an installed command: a link in some bin directory, run from anywhere.
  elsewhere = await mkdtemp(join(tmpdir(), 'factum-bin-'));
  linked = join(elsewhere, 'factum');
  await symlink(FACTUM_BIN, linked);
});
afterAll(() => (elsewhere ? rm(elsewhere, { recursive: true, force: true }) : undefined));

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };

describe('the factum command', () => {
  it('is the package bin, and runs through its link from another directory, without npx or --import', async () => {
    expect(packageJson.bin.factum).toBe('src/cli/factum.mjs');
    expect(readFileSync(FACTUM_BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(linked, ['--version'], { cwd: elsewhere, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(packageJson.version);
  });

  it('has --help for each command, and the help of factum alone lists what serving takes', async () => {
    const [root, serve, exporting, importing, verify] = await Promise.all(
      [[], ['serve'], ['export'], ['import'], ['verify']].map((command) => runFactumProcess([...command, '--help'], { cwd: elsewhere })),
    );
    expect(root.stdout).toMatch(/Commands:\n\s+serve \[options\]/);
    for (const flag of ['--port', '--data-dir', '--storage', 'FACTUM_DATA_DIR']) {
      expect(root.stdout).toContain(flag);
      expect(serve.stdout).toContain(flag);
    }
    for (const flag of ['--url', '--database', '--after', '--output', '--resume', '--components-dir', '--no-components', 'FACTUM_URL']) expect(exporting.stdout).toContain(flag);
    for (const flag of ['--url', '--database', '--input', '--append', '--components-dir', '--batch-size']) expect(importing.stdout).toContain(flag);
    for (const flag of ['--data-dir', '--force', '--json']) expect(verify.stdout).toContain(flag);
    expect([root, serve, exporting, importing, verify].map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
  });

  it('serves with `factum serve`, from another directory too, and stops on SIGTERM', async () => {
    const dataDir = join(elsewhere, 'data');
    const running = spawnFactum(['serve', '--port', '0', '--data-dir', dataDir], { cwd: elsewhere });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      running.child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const listening = /"url":"(http:[^"]+)"/.exec(out);
        if (listening) resolve(listening[1]!);
      });
      void running.finished.then((f) => reject(new Error(`exited: ${f.stderr}`)));
    });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    running.child.kill('SIGTERM');
    expect((await running.finished).code).toBe(0);
  });

  it('says what is wrong with a flag, and exits 2', async () => {
    // A port nothing listens on.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const result = await runFactumProcess(['export', '--database', 'shop', '--page-size', 'lots', '--url', `http://127.0.0.1:${port}`]);
    expect(result).toMatchObject({ code: 2, stderr: 'factum: --page-size must be a whole number from 1 to 10000, not "lots"\n' });
    const unreachable = await runFactumProcess(['import', '--database', 'shop', '--url', `http://127.0.0.1:${port}`, '--no-components'], { stdin: '' });
    expect(unreachable).toMatchObject({ code: 1, stderr: `factum: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n` });
  });
});
