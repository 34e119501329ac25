// Node side of the HTML report: hashes the analysed files, builds the view model and writes one
// self-contained HTML file from the template the UI build produced.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Diagnosis } from '../../parser/diagnose/types.js';
import { buildReportModel, DEFAULT_REPORT_CONNECTION_CAP, type AnalysedFile } from '../../parser/report/report-model.js';
import type { AnalysisDocument } from '../../parser/report/types.js';
import { fillReportTemplate } from './report-html.js';
import { OutputFile } from '../cli/writers.js';

/** dist-ui/ of this package (this file runs from dist/app/report/). */
export function uiBuildDirectory(): string {
  return fileURLToPath(new URL('../../../dist-ui/', import.meta.url));
}

export async function sha256OfFile(path: string): Promise<string | null> {
  if (path === '-' || path === '<stdin>') return null;
  try {
    // A pipe was read once already (opening it again would wait for a writer): no hash.
    if (!(await stat(path)).isFile()) return null;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch {
    return null;
  }
}

export async function describeFiles(paths: string[]): Promise<AnalysedFile[]> {
  const out: AnalysedFile[] = [];
  for (const path of paths) {
    const size = path === '<stdin>' ? 0 : await stat(path).then((s) => s.size, () => 0);
    out.push({ name: path, size, sha256: await sha256OfFile(path) });
  }
  return out;
}

/**
 * Writes the report for an analysis document (as `analyze --json` writes it) to `outPath`.
 * `readMerged`: the files read merged by time with others (AnalyzeResult.readMerged), noted under the files table.
 */
export async function writeHtmlReport(outPath: string, document: AnalysisDocument, diagnosis: Pick<Diagnosis, 'servers' | 'clients' | 'findings' | 'whatIf' | 'sessions'>, readMerged: ReadonlySet<string> = new Set()): Promise<void> {
  const templatePath = uiBuildDirectory() + 'report-template.html';
  if (!existsSync(templatePath)) throw new Error(`the report template is missing (${templatePath}): run npm run build`);
  const template = await readFile(templatePath, 'utf8');
  const files = await describeFiles(document.captures.map((c) => c.file));
  for (const f of files) {
    const capture = document.captures.find((c) => c.file === f.name);
    if (capture && f.size === 0) f.size = capture.bytes;
    if (readMerged.has(f.name)) f.readMerged = true;
  }
  const model = buildReportModel({
    tool: document.tool, captures: document.captures, connections: document.connections, diagnosis, files,
    analysedAt: new Date().toISOString(), connectionCap: DEFAULT_REPORT_CONNECTION_CAP,
  });
  // Through OutputFile: "-" is standard output, and a failed write is reported as such.
  const out = new OutputFile(outPath);
  out.write(fillReportTemplate(template, model));
  await out.close();
}
