// A headless Chromium that a Rust test steers line by line: each line on stdin is one JSON command, each
// answer one JSON line on stdout ({"ok": true, "value": ...} or {"ok": false, "error": ...}).
// Commands: goto {url}, fill {selector, text}, click {selector}, wait {selector, state?, timeout_ms?},
// wait_text {selector, text, timeout_ms?}, text {selector}, count {selector}, attr {selector, name},
// screenshot {path}, quit.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const executablePath = process.env.HOTLINE_CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
  ],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
const console_lines = [];
page.on("console", (m) => console_lines.push(`${m.type()}: ${m.text()}`));
page.on("pageerror", (e) => console_lines.push(`pageerror: ${e.message}`));

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

async function run(c) {
  const timeout = c.timeout_ms ?? 10000;
  switch (c.do) {
    case "goto":
      await page.goto(c.url);
      return null;
    case "fill":
      await page.fill(c.selector, c.text, { timeout });
      return null;
    case "click":
      await page.click(c.selector, { timeout });
      return null;
    case "wait":
      await page.waitForSelector(c.selector, { state: c.state ?? "visible", timeout });
      return null;
    case "wait_text":
      await page.waitForFunction(
        ([sel, text]) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(text)),
        [c.selector, c.text],
        { timeout },
      );
      return null;
    case "text":
      return await page.textContent(c.selector, { timeout });
    case "count":
      return await page.locator(c.selector).count();
    case "attr":
      return await page.getAttribute(c.selector, c.name, { timeout });
    case "screenshot":
      await page.screenshot({ path: c.path });
      return null;
    case "console":
      return console_lines;
    default:
      throw new Error(`unknown command ${c.do}`);
  }
}

reply({ ok: true, value: "ready" });
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  let c;
  try {
    c = JSON.parse(line);
  } catch (e) {
    reply({ ok: false, error: `not JSON: ${line}` });
    continue;
  }
  if (c.do === "quit") break;
  try {
    reply({ ok: true, value: await run(c) });
  } catch (e) {
    reply({ ok: false, error: String(e.message || e), console: console_lines.slice(-20) });
  }
}
await browser.close();
