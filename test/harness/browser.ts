// A real headless Chromium (Debian's chromium package) that a test drives with playwright-core over the
// DevTools protocol. Started as a process the test owns (process.ts), not by playwright's launcher, so it
// dies with the test however the test ends, like every other process a test starts.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { freePort, waitFor, GiveUp } from './ports.js';
import { spawnOwned } from './process.js';

export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function startBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set GATEHOUSE_CHROMIUM)`);
  const port = await freePort();
  const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  const proc = spawnOwned(CHROMIUM, [...FLAGS, `--remote-debugging-address=127.0.0.1`, `--remote-debugging-port=${port}`, `--user-data-dir=${profile}`, 'about:blank']);
  const stop = async () => {
    await proc.stop('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    await waitFor('chromium DevTools endpoint', async () => {
      if (proc.child.exitCode !== null) throw new GiveUp(`chromium exited: ${proc.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/json/version`).then((r) => r.ok, () => false)) || undefined;
    }, 30_000, 100);
    const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`);
    return {
      browser,
      async close() {
        await browser.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
