// Driver for t/browser.t: Debian's headless Chromium under playwright-core
// (never a downloaded browser).
//
//   node run.mjs URL PROFILE_DIR
//
// Opens URL in a fresh profile, then answers on stdout, one JSON line each:
//   {"ready":true,"pid":N,"ua":"..."}   the page loaded (pid: chromium's)
//   {"launch_error":"..."}              chromium did not start (exit 3)
// and for every line read on stdin (a JavaScript expression evaluated in
// the page) {"result":VALUE} or {"error":"..."}.  Closes the browser and
// exits at the end of stdin, or after $KVMQ_BROWSER_TIMEOUT seconds
// (default 120) whatever happens.

import { chromium } from 'playwright-core';
import readline from 'node:readline';

const [url, profile] = process.argv.slice(2);
const limit = Number(process.env.KVMQ_BROWSER_TIMEOUT || 120) * 1000;
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms).unref());

let context;
let pid;

async function quit(code) {
    try {
        if (context) await Promise.race([context.close(), sleep(5000)]);
    } catch (e) { /* closing anyway */ }
    if (pid) {
        try { process.kill(-pid, 'SIGKILL'); } catch (e) { /* gone */ }
    }
    process.exit(code);
}

setTimeout(() => { out({ error: 'driver timeout' }); quit(2); }, limit);

try {
    context = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.KVMQ_CHROMIUM || '/usr/bin/chromium',
        headless: true,
        timeout: 30000,
        args: ['--headless', '--no-sandbox', '--disable-gpu',
               '--disable-quic', '--no-first-run',
               '--disable-background-networking',
               '--disable-component-update', '--disable-sync'],
    });
} catch (e) {
    out({ launch_error: String((e && e.message) || e).split('\n')[0] });
    process.exit(3);
}

// chromium is our child (playwright starts it in its own process group)
try {
    const { execFileSync } = await import('node:child_process');
    const kids = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid',
                                     String(process.pid)]).toString();
    const m = kids.match(/^\s*(\d+)\s+chrom/m);
    if (m) pid = Number(m[1]);
} catch (e) { /* no ps: the test kills by our own pid */ }

const page = context.pages()[0] || await context.newPage();
const log = [];
page.on('console', (m) => log.push(m.text()));
page.on('pageerror', (e) => log.push('pageerror: ' + e.message));

try {
    await page.goto(url, { timeout: 15000 });
    out({ ready: true, pid, ua: await page.evaluate('navigator.userAgent') });
} catch (e) {
    out({ error: 'goto: ' + String((e && e.message) || e).split('\n')[0] });
    await quit(4);
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
    if (line === '') continue;
    try {
        const v = line === 'log' ? log : await page.evaluate(line);
        out({ result: v === undefined ? null : v });
    } catch (e) {
        out({ error: String((e && e.message) || e).split('\n')[0] });
    }
}
await quit(0);
