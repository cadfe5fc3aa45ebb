// Drives lumi's dashboard in a real headless Chromium (Debian's, not a downloaded one),
// for crates/lumi-bridge/tests/browser.rs, which runs the bridge against simulated gateways
// and talks to this script line by line:
//
//   this script                       the Rust test
//   READY <n devices shown>     →
//                               ←     OPENED            (it opened the door in the simulator)
//   DOOR false                  →
//   CLICKED                     →     (it checks the simulated plug is on)
//   SHOTS <dir> | NOSHOTS       →
//   DONE                        →
//
// Usage: node dashboard.mjs URL DOOR_SID PLUG_SID DEVICE_COUNT [SCREENSHOT_DIR]
// Chromium: $LUMI_CHROMIUM, else /usr/bin/chromium.
import { chromium } from 'playwright-core';
import readline from 'node:readline';

const [url, door, plug, countText, shots] = process.argv.slice(2);
const count = Number(countText);
const lines = readline.createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once('line', resolve));
const say = (s) => process.stdout.write(`${s}\n`);
const fail = (msg) => { process.stderr.write(`dashboard.mjs: ${msg}\n`); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.LUMI_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // A closed network: no background connections, no component updates, no QUIC.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage'],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('requestfailed', (r) => {
    // The event stream is cut when the browser closes; anything else is a bug.
    if (!r.url().endsWith('/api/events')) errors.push(`request failed: ${r.url()}`);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  // Every sub-device, each with its card.
  await page.waitForFunction(
    (n) => document.querySelectorAll('#devices article.device').length >= n, count, { timeout: 15000 });
  const shown = await page.locator('#devices article.device').count();
  const doorCard = page.locator(`#devices article[data-sid="${door}"]`);
  const contact = doorCard.locator('[data-prop="contact"]');
  await contact.waitFor({ timeout: 15000 });
  if ((await contact.getAttribute('data-value')) !== 'true' || (await contact.textContent()) !== 'closed') {
    fail(`the door should start closed, shows ${await contact.textContent()}`);
  }
  if ((await page.locator('#live').getAttribute('data-state')) !== 'live') fail('the event stream is not live');
  // Gateways with their health.
  if ((await page.locator('#gateways article.gateway').count()) < 1) fail('no gateway card');
  say(`READY ${shown}`);

  // The door opens in the simulator: the card follows without a reload.
  if ((await nextLine()) !== 'OPENED') fail('expected OPENED');
  await page.waitForFunction((sid) => {
    const el = document.querySelector(`#devices article[data-sid="${sid}"] [data-prop="contact"]`);
    return el && el.getAttribute('data-value') === 'false' && el.textContent === 'open';
  }, door, { timeout: 15000 });
  // …and the event is in the log.
  await page.waitForFunction(() => [...document.querySelectorAll('#log li .what')]
    .some((e) => e.textContent.includes('contact: false')), null, { timeout: 15000 });
  say('DOOR false');

  // A click switches the plug; the switch shows it once the plug reported back.
  const toggle = page.locator(`#devices article[data-sid="${plug}"] button[data-control="state"]`);
  if ((await toggle.getAttribute('aria-checked')) !== 'false') fail('the plug should start off');
  await toggle.click();
  await page.waitForFunction((sid) => {
    const b = document.querySelector(`#devices article[data-sid="${sid}"] button[data-control="state"]`);
    return b && b.getAttribute('aria-checked') === 'true';
  }, plug, { timeout: 15000 });
  say('CLICKED');

  // Usable on a phone: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) fail(`the page is ${overflow}px wider than a phone's screen`);
  // Every control has an accessible name.
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, select')]
    .filter((e) => !(e.getAttribute('aria-label') || e.textContent.trim() || e.closest('label')))
    .map((e) => e.outerHTML.slice(0, 80)));
  if (unnamed.length) fail(`controls without a name: ${unnamed.join(' | ')}`);

  if (shots) {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${shots}/dashboard-desktop.png`, fullPage: false });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${shots}/dashboard-phone.png`, fullPage: false });
    say(`SHOTS ${shots}`);
  } else {
    say('NOSHOTS');
  }
  if (errors.length) fail(errors.join('\n'));
  say('DONE');
} finally {
  await browser.close();
  lines.close();
}
