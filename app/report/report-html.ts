// Fills the report template (dist-ui/report-template.html, built by app/renderer/vite.report.config.ts)
// with one analysis. Pure and portable: the CLI (--report) and the app (File › Export) both call it.
import type { ReportModel } from '../../parser/report/report-model.js';

/**
 * The template's data slot, the whole element: the placeholder text alone also occurs inside the
 * inlined bundle (this module is part of it); the element cannot, because the template builder
 * escapes every "</script" in the bundle.
 */
const SLOT_OPEN = '<script id="report-data" type="application/json">';
const SLOT_CLOSE = '</' + 'script>';
export const REPORT_DATA_SLOT = SLOT_OPEN + '"__RESUMESCOPE_REPORT_DATA__"' + SLOT_CLOSE;

/**
 * JSON that can sit inside a <script> element: "<" becomes \u003c so no capture string (an SNI like
 * "</script><script>…") can close the element; U+2028/2029 are escaped for old JS parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function fillReportTemplate(template: string, model: ReportModel): string {
  const at = template.indexOf(REPORT_DATA_SLOT);
  if (at < 0 || template.indexOf(REPORT_DATA_SLOT, at + 1) >= 0) {
    throw new Error('report template has no single data slot (rebuild with npm run build:ui)');
  }
  // Splice, not String.replace: "$&" and friends in capture data must stay literal.
  return template.slice(0, at) + SLOT_OPEN + jsonForScript(model) + SLOT_CLOSE + template.slice(at + REPORT_DATA_SLOT.length);
}

export function reportFileName(model: ReportModel): string {
  return `${exportBaseName(model.files[0]?.name)}.html`;
}

/**
 * The name every export of an analysis starts with, from its first capture's name: the report,
 * the JSON and the CSV of one capture sort together (the JSON and CSV were "resumescope.json"
 * whatever the capture).
 */
export function exportBaseName(firstCapture: string | undefined): string {
  const first = firstCapture?.replace(/^.*[\\/]/, '').replace(/\.(pcapng|pcap|cap)(\.gz)?$/i, '') ?? 'capture';
  const safe = first.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'capture';
  return `resumescope-${safe}`;
}
