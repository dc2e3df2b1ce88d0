// Browser end-to-end tests of the restless web page (issue 6), in Debian's Chromium driven by
// playwright-core, against the real binary: `restless serve --insecure-no-auth` on a free
// loopback port with a temporary data folder. Screenshots of every step go to screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const BIN = process.env.RESTLESS_BIN || join(here, "../target/debug/restless");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = join(here, "screenshots");
const FHIR = join(
  here,
  "../../shared/corpora/smart-generated-sample-data-r4-synthea/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json",
);
const AS_OF = "2026-11-27";

let server;
let base;
let dataDir;
let profile;
let context;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`restless serve did not become ready at ${url}`);
}

before(async () => {
  assert.ok(existsSync(BIN), `no binary at ${BIN}; build it with cargo build -p restless-cli`);
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  dataDir = mkdtempSync(join(tmpdir(), "restless-e2e-data-"));
  server = spawn(
    BIN,
    ["serve", "--insecure-no-auth", "--addr", `127.0.0.1:${port}`, "--data-dir", dataDir, "--as-of", AS_OF],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  server.stderr.on("data", (d) => { log = (log + d).slice(-4000); });
  server.on("exit", (code) => { if (code) console.error(`restless serve exited ${code}\n${log}`); });
  await waitReady(`${base}/healthz`, 20000);
  profile = mkdtempSync(join(tmpdir(), "restless-e2e-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    locale: "en-US",
    viewport: { width: 1100, height: 900 },
  });
});

after(async () => {
  await context?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
  }
  for (const d of [dataDir, profile]) if (d) rmSync(d, { recursive: true, force: true });
});

async function newPage() {
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  return page;
}

/** A new page showing the questionnaire; `viewport`, when given, is set before it loads. */
async function openQuestionnaire({ viewport } = {}) {
  const page = await newPage();
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(`${base}/`);
  return page;
}

/** Runs `act` (a click or key press) and waits until the page has navigated to `path`. */
async function submitTo(page, path, act) {
  await Promise.all([page.waitForURL(`${base}${path}`), act()]);
}

/** Submits the questionnaire with its button. */
const showMyReport = (page) => submitTo(page, "/report", () => page.click("text=Show my report"));

/** Submits the upload form with its button. */
const showUploadReport = (page) => submitTo(page, "/upload", () => page.click("text=Show the report"));

/** Waits for the report's heading. */
const reportShown = (page) => page.waitForSelector("h1:has-text('Your restless legs report')");

const shot = (page, name, opts = {}) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, ...opts });

/** The text of the "Found" group of the report. */
async function foundGroup(page) {
  return page.evaluate(() => {
    const start = document.getElementById("g-present");
    let text = "";
    for (let n = start.nextElementSibling; n && n.id !== "g-possible"; n = n.nextElementSibling) {
      text += n.textContent + "\n";
    }
    return text;
  });
}

/** The four diagnostic criteria questions, each answered "yes" by the tests. */
const CRITERIA = ["urge_to_move", "worse_at_rest", "relieved_by_movement", "worse_in_evening"];

async function answerCriteria(page) {
  for (const q of CRITERIA) {
    await page.check(`#f-symptoms-${q}-yes`);
  }
  await page.check("#f-symptoms-explained_by_other_condition-no");
}

/** Fills the first lab row: ferritin 20 ng/mL on 2026-10-02; `afterName` runs once the test is chosen. */
async function fillFerritinLab(page, afterName = async () => {}) {
  await page.selectOption("#f-labs-0-name", "ferritin");
  await afterName();
  await page.fill("#f-labs-0-value", "20");
  await page.fill("#f-labs-0-unit", "ng/mL");
  await page.fill("#f-labs-0-date", "2026-10-02");
}

/** Age 46, the criteria met, Paxil and a low ferritin: a report that finds iron deficiency. */
async function fillPaxilAndLowFerritin(page) {
  await page.fill("#f-person-age", "46");
  await answerCriteria(page);
  await page.fill("#f-medications-0", "Paxil 20 mg");
  await fillFerritinLab(page);
}

/** The report's "Found" group names both iron deficiency and the serotonergic antidepressant. */
async function assertIronAndAntidepressantFound(page) {
  const found = await foundGroup(page);
  assert.match(found, /Iron deficiency/);
  assert.match(found, /Serotonergic antidepressant/);
}

test("fill and submit the questionnaire: low ferritin and paroxetine show both causes", async () => {
  const page = await openQuestionnaire();
  await shot(page, "01-questionnaire");
  await page.fill("#f-person-age", "46");
  await page.selectOption("#f-person-sex", "female");
  await answerCriteria(page);
  await page.fill("#f-medications-0", "paroxetine 20 mg");
  await page.check("#f-medications_complete");
  await fillFerritinLab(page, async () => {
    // The unit list follows the test (JavaScript enhancement).
    assert.equal(await page.getAttribute("#f-labs-0-unit", "list"), "units-ferritin");
  });
  await shot(page, "02-questionnaire-filled");
  await showMyReport(page);
  await reportShown(page);
  await assertIronAndAntidepressantFound(page);
  assert.match(await page.textContent(".medicines"), /Do not stop or change a medicine on your own/);
  await shot(page, "03-report");
  // "Was this useful?" answers in place.
  await page.click("text=Yes, it was useful");
  await page.waitForSelector(".thanks:has-text('Thank you')");
  await shot(page, "04-report-useful");
  await page.close();
});

test("live validation shows a message next to the field", async () => {
  const page = await openQuestionnaire();
  await page.fill("#f-symptoms-days_per_week", "9");
  await page.press("#f-symptoms-days_per_week", "Tab");
  assert.equal(
    (await page.textContent("#f-symptoms-days_per_week-error")).trim(),
    "Please enter a number from 0 to 7.",
  );
  // Server-side too: submit and see the summary and the message, answers kept.
  await showMyReport(page);
  await page.waitForSelector("#error-summary");
  assert.equal(await page.inputValue("#f-symptoms-days_per_week"), "9");
  await shot(page, "05-validation");
  await page.close();
});

test("upload a FHIR bundle and see its findings", async () => {
  const page = await openQuestionnaire();
  await page.setInputFiles("#upload-file", FHIR);
  await showUploadReport(page);
  await reportShown(page);
  assert.match(await foundGroup(page), /Obesity/);
  await shot(page, "06-upload-report");
  await page.close();
});

test("upload a broken file and see a readable error", async () => {
  const page = await openQuestionnaire();
  await page.setInputFiles("#upload-file", {
    name: "broken.json",
    mimeType: "application/json",
    buffer: Buffer.from('{"resourceType": "Bundle", "entry": [ {'),
  });
  await showUploadReport(page);
  const alert = await page.textContent("#upload-error");
  assert.match(alert, /We could not use this file/);
  assert.match(alert, /not a valid JSON file/);
  assert.doesNotMatch(alert, /Syntax \{|panicked|src\//);
  // Focus moves to the message.
  assert.equal(await page.evaluate(() => document.activeElement.id), "upload-error");
  await shot(page, "07-upload-error");
  await page.close();
});

/** Presses Tab until the element with `id` has focus; fails when it is not reachable. */
async function tabTo(page, id, limit = 600) {
  for (let i = 0; i < limit; i++) {
    if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
    await page.keyboard.press("Tab");
  }
  assert.fail(`#${id} cannot be reached with the Tab key`);
}

test("complete the questionnaire with the keyboard only", async () => {
  const page = await openQuestionnaire();
  const kb = page.keyboard;
  await tabTo(page, "f-person-age");
  await kb.type("46");
  // A visible focus style.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
  await shot(page, "08-keyboard-focus", { fullPage: false });
  for (const q of CRITERIA) {
    await tabTo(page, `f-symptoms-${q}-yes`);
    await kb.press("Space");
  }
  await tabTo(page, "f-symptoms-explained_by_other_condition-yes");
  await kb.press("ArrowRight"); // moves to and selects "No"
  await tabTo(page, "f-medications-0");
  await kb.type("Paxil 20 mg");
  await tabTo(page, "f-labs-0-name");
  await kb.type("Ferritin");
  assert.equal(await page.inputValue("#f-labs-0-name"), "ferritin");
  await tabTo(page, "f-labs-0-value");
  await kb.type("20");
  await tabTo(page, "f-labs-0-unit");
  await kb.type("ng/mL");
  await tabTo(page, "f-labs-0-date");
  await kb.type("10022026");
  assert.equal(await page.inputValue("#f-labs-0-date"), "2026-10-02");
  await tabTo(page, "f-labs-0-value");
  await submitTo(page, "/report", () => kb.press("Enter"));
  await reportShown(page);
  await assertIronAndAntidepressantFound(page);
  await shot(page, "09-keyboard-report");
  await page.close();
});

test("the print view renders cleanly", async () => {
  const page = await openQuestionnaire();
  await fillPaxilAndLowFerritin(page);
  await showMyReport(page);
  await page.emulateMedia({ media: "print" });
  const hidden = await page.evaluate(() =>
    [".site", ".useful", ".buttons"].map((s) => getComputedStyle(document.querySelector(s)).display),
  );
  assert.deepEqual(hidden, ["none", "none", "none"]);
  assert.ok(await page.isVisible("text=Iron deficiency"));
  await shot(page, "10-print");
  const pdf = await page.pdf({ format: "A4" });
  assert.ok(pdf.length > 1000);
  await page.emulateMedia({ media: "screen" });
  await page.close();
});

/** Whether the page is no wider than the window (no sideways scrolling). */
const fitsWidth = (page) =>
  page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

test("a phone-sized screen has no sideways scrolling", async () => {
  const page = await openQuestionnaire({ viewport: { width: 375, height: 740 } });
  assert.ok(await fitsWidth(page));
  await shot(page, "11-phone-questionnaire", { fullPage: false });
  await page.fill("#f-medications-0", "Paxil 20 mg");
  await showMyReport(page);
  assert.ok(await fitsWidth(page));
  await shot(page, "12-phone-report", { fullPage: false });
  await page.close();
});

async function axe(page) {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    if (r.passes.length < 10) throw new Error(`axe checked only ${r.passes.length} rules`);
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
}

test("axe-core finds no serious or critical violations on either page", async () => {
  const page = await openQuestionnaire();
  const form = await axe(page);
  await fillPaxilAndLowFerritin(page);
  await showMyReport(page);
  await page.evaluate(() => document.querySelectorAll("details").forEach((d) => { d.open = true; }));
  const report = await axe(page);
  console.log(`axe: questionnaire ${JSON.stringify(form)}; report ${JSON.stringify(report)}`);
  for (const [name, v] of [["questionnaire", form], ["report", report]]) {
    const bad = v.filter((x) => x.impact === "serious" || x.impact === "critical");
    assert.deepEqual(bad, [], `${name}: ${JSON.stringify(bad)}`);
  }
  await page.close();
});
