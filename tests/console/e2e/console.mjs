// The console end to end in Debian's chromium, headless, driven by
// playwright-core. Run by tests/tests/console_e2e.rs, which starts medbus
// and passes (environment):
//   MEDBUS_ADMIN_URL, MEDBUS_HTTP_URL  the admin listener and the route listener
//   MEDBUS_ROUTES_DIR                  where a broken route is written
//   DESTINATION_PORT                   where e2e.push delivers: down until this script listens
//   CHROMIUM, ARTIFACTS                the browser, and where screenshots go
//   VENDOR_SECRET                      the caller vendor-120's secret
//   VIEWER_PASSWORD, OPERATOR_PASSWORD, ADMIN_PASSWORD
// Each step prints its name; a failing step leaves FAILED-<step>.png.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

function setting(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/tests/console_e2e.rs`);
  return value;
}

const admin = setting('MEDBUS_ADMIN_URL');
const routes = setting('MEDBUS_HTTP_URL');
const routesDir = setting('MEDBUS_ROUTES_DIR');
const destinationPort = Number(setting('DESTINATION_PORT'));
const shots = path.join(setting('ARTIFACTS'), 'console-e2e');
const WAIT = { timeout: 20000 };

await fs.rm(shots, { recursive: true, force: true });
await fs.mkdir(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: setting('CHROMIUM'), args: ['--no-sandbox'] });
const pageErrors = [];
let current = null;

async function newPage(viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  page.on('dialog', (dialog) => dialog.accept());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error.stack ?? error}`);
    if (current) await current.screenshot({ path: path.join(shots, `FAILED-${name}.png`), fullPage: true }).catch(() => {});
    await browser.close();
    process.exit(1);
  }
}

async function login(page, name, password) {
  await page.goto(`${admin}/`);
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.waitForSelector('#who', WAIT);
}

async function push(body) {
  const response = await fetch(`${routes}/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ secret: setting('VENDOR_SECRET'), ...body }),
  });
  return response.json();
}

const counter = (route, name) => `tr[data-route="${route}"] td[data-counter="${name}"]`;

async function waitForText(page, selector, expected) {
  await page.waitForFunction(
    ([selector, expected]) => document.querySelector(selector)?.textContent.trim() === expected,
    [selector, expected],
    WAIT,
  );
}

async function searchByKey(page, name, value) {
  await page.goto(`${admin}/#/messages`);
  await page.waitForSelector('#filter-key-name option[value="applyNo"]', { ...WAIT, state: 'attached' });
  await page.selectOption('#filter-key-name', name);
  await page.fill('#filter-key-value', value);
  await page.click('#search-button');
  await page.waitForFunction(
    (value) => {
      const rows = document.querySelectorAll('#messages-table tbody tr[data-message]');
      return rows.length === 1 && rows[0].textContent.includes(value);
    },
    value,
    WAIT,
  );
}

const operator = await newPage();
current = operator;
let pushedId = null;

await step('a wrong password is refused', async () => {
  await operator.goto(`${admin}/`);
  await operator.fill('#login-name', 'operator');
  await operator.fill('#login-password', 'not-the-password');
  await operator.click('#login-submit');
  await waitForText(operator, '#login-error', '用户名或密码错误');
  await shot(operator, '01-login-refused');
});

await step('the operator logs in and sees every route', async () => {
  await login(operator, 'operator', setting('OPERATOR_PASSWORD'));
  await operator.waitForSelector('tr[data-route="e2e.push"]', WAIT);
  await operator.waitForSelector('tr[data-route="e2e.adt"]', WAIT);
  assert.equal((await operator.textContent(counter('e2e.push', 'received'))).trim(), '0');
  assert.match(await operator.textContent('#card-journal'), /sqlite · full/);
  await operator.waitForSelector('#throughput svg', WAIT);
  await shot(operator, '02-dashboard');
});

await step("the route's counters rise as messages arrive, without a page reload", async () => {
  for (let i = 0; i < 3; i += 1) {
    // A1002's name is markup: the console must show it as text.
    const name = i === 2 ? '<img src=x onerror="window.injected=1">张三' : '张三';
    const answer = await push({ applyNo: `A100${i}`, eventNo: 'E2026', name });
    assert.ok(answer.id, JSON.stringify(answer));
    if (i === 1) pushedId = answer.id;
  }
  const refused = await push({ applyNo: 'A1009', eventNo: 'E2026' });
  assert.equal(refused.error?.code, 'MISSING_FIELD', JSON.stringify(refused));
  await waitForText(operator, counter('e2e.push', 'received'), '4');
  await waitForText(operator, counter('e2e.push', 'replied'), '4');
  await waitForText(operator, counter('e2e.push', 'processed'), '3');
  await waitForText(operator, counter('e2e.push', 'rejected'), '1');
  // The chart follows too: the ADT message and these four, in the last minutes' bars.
  await operator.waitForFunction(() => {
    const sum = (word) =>
      Array.from(document.querySelectorAll('#throughput title'), (title) => {
        const found = title.textContent.match(new RegExp(`${word} (\\d+)`));
        return found ? Number(found[1]) : 0;
      }).reduce((a, b) => a + b, 0);
    return sum('已处理') === 4 && sum('拒绝/失败') === 1;
  }, null, WAIT);
  await shot(operator, '03-counters-rose');
});

await step('a message is found by its business key and its trace opens', async () => {
  await searchByKey(operator, 'applyNo', 'A1001');
  await operator.click('#messages-table tbody tr[data-message]');
  await operator.waitForSelector('#trace-table', WAIT);
  assert.equal(await operator.textContent('#message-id'), pushedId);
  const steps = await operator.$$eval('#trace-table tbody tr', (rows) => rows.map((r) => r.children[1].textContent));
  assert.deepEqual(steps, ['parse', 'authenticate', 'validate', 'set']);
  await operator.click('#trace-table tbody tr[data-step="3"]');
  await operator.waitForFunction(() => document.querySelector('#step-diff')?.textContent.includes('body.receivedBy'), null, WAIT);
  assert.match(await operator.textContent('#step-diff'), /hub/);
  await operator.click('#trace-table tbody tr[data-step="0"]');
  await operator.waitForFunction(() => document.querySelector('#step-diff')?.textContent.includes('body.applyNo'), null, WAIT);
  await shot(operator, '04-trace');
});

await step('markup in a message is shown as text', async () => {
  await searchByKey(operator, 'applyNo', 'A1002');
  await operator.click('#messages-table tbody tr[data-message]');
  await operator.waitForSelector('#message-input', WAIT);
  assert.match(await operator.textContent('#message-input'), /<img src=x onerror=/);
  assert.equal(await operator.$('main img'), null);
  assert.equal(await operator.evaluate(() => window.injected), undefined);
  await searchByKey(operator, 'applyNo', 'A1001');
  await operator.click('#messages-table tbody tr[data-message]');
  await operator.waitForSelector('#trace-table', WAIT);
});

const delivered = [];
await step('the failing destination leaves the delivery dead', async () => {
  await operator.waitForSelector('.delivery[data-destination="hospital"][data-status="dead"]', WAIT);
  assert.match(await operator.textContent('.delivery[data-destination="hospital"]'), /connect|refused/i);
  await shot(operator, '05-dead-delivery');
});

await step('fixed, the delivery is sent again and delivered', async () => {
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      delivered.push(JSON.parse(body));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"result":"ok"}');
    });
  });
  await new Promise((resolve) => server.listen(destinationPort, '127.0.0.1', resolve));
  await operator.click('.delivery[data-destination="hospital"] button.resend');
  await operator.waitForFunction((original) => {
    const id = document.querySelector('#message-id')?.textContent;
    return id && id !== original;
  }, pushedId, WAIT);
  await operator.waitForSelector('.delivery[data-destination="hospital"][data-status="delivered"]', WAIT);
  assert.equal(delivered.length, 1, JSON.stringify(delivered));
  assert.equal(delivered[0].applyNo, 'A1001');
  assert.match(await operator.textContent('#message-facts'), new RegExp(pushedId));
  await shot(operator, '06-delivered');
});

await step('an HL7 message shows its segments and fields by name', async () => {
  await searchByKey(operator, 'PatientID', 'P0001234');
  await operator.click('#messages-table tbody tr[data-message]');
  await operator.waitForSelector('#message-input .hl7', WAIT);
  const input = await operator.textContent('#message-input');
  assert.match(input, /PID-5/);
  assert.match(input, /患者姓名/);
  assert.match(input, /张三/);
  // The set step's change, by HL7 position.
  await operator.click('#trace-table tbody tr[data-step="2"]');
  await operator.waitForFunction(() => document.querySelector('#step-diff')?.textContent.includes('body PID-8'), null, WAIT);
  const change = await operator.$$eval('#step-diff tbody tr', (rows) => rows.map((r) => Array.from(r.children, (c) => c.textContent)));
  assert.deepEqual(change, [['body PID-8', '修改', 'M', 'F']]);
  await shot(operator, '07-hl7');
});

await step('a reload with a broken route shows file:line:column and keeps the running routes', async () => {
  await operator.goto(`${admin}/#/`);
  await operator.waitForSelector('tr[data-route="e2e.push"]', WAIT);
  const broken = path.join(routesDir, 'broken.yaml');
  await fs.writeFile(broken, 'id: e2e.broken\nsource:\n  http: { path: /broken, colour: red }\n');
  await operator.click('#reload-button');
  await operator.waitForSelector('#reload-dialog .reload-error', WAIT);
  assert.match(await operator.textContent('#reload-dialog .reload-error'), /broken\.yaml:3:\d+: .*colour/);
  await shot(operator, '08-reload-refused');
  await operator.click('#reload-dialog button.primary');
  await operator.waitForSelector('#reload-errors', WAIT);
  await fs.rm(broken);
  await operator.click('#reload-button');
  await operator.waitForSelector('#reload-dialog #reload-applied', WAIT);
  await operator.click('#reload-dialog button.primary');
  await operator.waitForSelector('#reload-errors', { ...WAIT, state: 'detached' });
  await operator.waitForSelector('tr[data-route="e2e.push"]', WAIT);
});

await step('the console switches to English and fits a 1366x768 screen', async () => {
  await operator.click('#lang-button');
  await waitForText(operator, '#nav a[data-section=""]', 'Dashboard');
  await operator.waitForSelector('#routes-table', WAIT);
  const overflow = await operator.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await shot(operator, '09-english');
  await operator.click('#lang-button');
  await waitForText(operator, '#nav a[data-section=""]', '总览');
});

await step('on a wall display the page scales up', async () => {
  const wall = await newPage({ width: 3840, height: 2160 });
  current = wall;
  await login(wall, 'operator', setting('OPERATOR_PASSWORD'));
  await wall.waitForSelector('#routes-table', WAIT);
  const size = await wall.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  assert.ok(size >= 22, `root font size ${size}px`);
  await wall.screenshot({ path: path.join(shots, '10-wall-display.png') });
  await wall.context().close();
  current = operator;
});

await step('a viewer sees everything and cannot reprocess', async () => {
  const viewer = await newPage();
  current = viewer;
  await login(viewer, 'viewer', setting('VIEWER_PASSWORD'));
  await viewer.goto(`${admin}/#/messages/${pushedId}`);
  await viewer.waitForSelector('#trace-table', WAIT);
  assert.ok(await viewer.isDisabled('#reprocess-button'));
  assert.ok(await viewer.isDisabled('.delivery button.resend'));
  assert.ok(await viewer.isDisabled('#reload-button'));
  const status = await viewer.evaluate(async (id) => {
    const response = await fetch(`/api/messages/${id}/reprocess`, { method: 'POST', headers: { 'X-Medbus-Csrf': '1' } });
    return response.status;
  }, pushedId);
  assert.equal(status, 403);
  await shot(viewer, '11-viewer');
  await viewer.context().close();
  current = operator;
});

await step('the callers page answers', async () => {
  await operator.goto(`${admin}/#/callers`);
  await operator.waitForSelector('#callers-window', WAIT);
  await operator.waitForSelector('#callers-table tr[data-caller="vendor-120"][data-route="e2e.push"]', WAIT);
  assert.match(await operator.textContent('#callers-table tr[data-caller="vendor-120"]'), /\d+\.\d%/);
  await operator.click('#callers-table tr[data-caller="vendor-120"] td:nth-child(2)');
  await operator.waitForSelector('#caller-chart svg', WAIT);
  assert.match(await operator.textContent('#caller-chart'), /vendor-120 · e2e\.push/);
  await shot(operator, '12-callers');
});

await step('the operator pauses and resumes a route from its page', async () => {
  await operator.goto(`${admin}/#/routes/e2e.push`);
  await operator.click('#pause-button');
  await operator.waitForSelector('#resume-button', WAIT);
  const refused = await fetch(`${routes}/push`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(refused.status, 503);
  assert.match(await operator.textContent('main'), /operator/);
  await shot(operator, '13-route-paused');
  await operator.click('#resume-button');
  await operator.waitForSelector('#pause-button', WAIT);
  assert.match(await operator.textContent('#route-yaml'), /id: e2e\.push/);
});

await step('only an admin sees who may use the console', async () => {
  assert.equal(await operator.$('#nav a[data-section="users"]'), null);
  const root = await newPage();
  current = root;
  await login(root, 'admin', setting('ADMIN_PASSWORD'));
  await root.click('#nav a[data-section="users"]');
  await root.waitForSelector('#users-table tr[data-user="viewer"]', WAIT);
  assert.equal(await root.$$eval('#users-table tbody tr', (rows) => rows.length), 3);
  await shot(root, '14-users');
  await root.context().close();
  current = operator;
});

await step('no page error happened', async () => {
  assert.deepEqual(pageErrors, []);
});

await browser.close();
console.log(`screenshots: ${shots}`);
// The stand-in hospital's server would keep node running.
process.exit(0);
