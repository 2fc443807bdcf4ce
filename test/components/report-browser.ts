import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/repo-root';

/** Screenshots the report tests keep for a person to look at (git-ignored; CI may upload the folder). */
export const REPORT_SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'reports');

export interface OpenedReport {
  page: Page;
  /** Console errors and uncaught exceptions, as the page logged them. */
  errors: string[];
  /** Every request the page made beyond its own file; a self-contained report makes none. */
  requests: string[];
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Opens a report file as a user would (file://), refusing (and recording) any request it makes elsewhere. */
export async function openReport(browser: Browser, file: string): Promise<OpenedReport> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const url = pathToFileURL(file).href;
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.route('**/*', async (route) => {
    if (route.request().url() === url) return route.continue();
    requests.push(route.request().url());
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests };
}

export async function keepScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(REPORT_SCREENSHOTS, { recursive: true });
  const file = path.join(REPORT_SCREENSHOTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
