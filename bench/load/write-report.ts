// Writes report.json, report.md and report.html into the output directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { LoadReport } from './report-types.js';

export interface Written {
  readonly json: string;
  readonly markdown: string;
  readonly html: string;
  readonly markdownText: string;
}

export function writeReport(dir: string, report: LoadReport): Written {
  mkdirSync(dir, { recursive: true });
  const markdownText = renderMarkdown(report);
  const files = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), html: join(dir, 'report.html') };
  writeFileSync(files.json, JSON.stringify(report, null, 2));
  writeFileSync(files.markdown, markdownText);
  writeFileSync(files.html, renderHtml(report, markdownText));
  return { ...files, markdownText };
}
