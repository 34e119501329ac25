// The HTML report template: the report entry built as ONE inline script + ONE inline style in one
// HTML file (dist-ui/report-template.html), with a CSP that allows exactly those two by hash.
// The exporter (app/report/report-html.ts) only splices the analysis JSON into the data slot.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { REPORT_DATA_SLOT } from '../report/report-html.js';

const root = fileURLToPath(new URL('.', import.meta.url));

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function inlineReportTemplate(): Plugin {
  return {
    name: 'resumescope-inline-report',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const entries = Object.values(bundle);
      const chunk = entries.find((f) => f.type === 'chunk' && f.isEntry);
      if (!chunk || chunk.type !== 'chunk') throw new Error('report entry chunk missing');
      const css = entries.filter((f) => f.type === 'asset' && f.fileName.endsWith('.css')).map((f) => (f.type === 'asset' ? String(f.source) : '')).join('\n');
      // "</script" inside a string literal would end the inline element early; "<\/" means the same in JS.
      const script = chunk.code.replace(/<\/(script)/gi, '<\\/$1');
      if (/<!--/.test(script)) throw new Error('report bundle contains "<!--", which changes how HTML parses an inline script');
      const style = css.replace(/<\/(style)/gi, '<\\/$1');
      const csp = [
        "default-src 'none'",
        `script-src ${cspHash(script)}`,
        `style-src ${cspHash(style)}`,
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
      ].join('; ');
      const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="resumescope">
<link rel="icon" href="data:,">
<title>resumescope report</title>
<style>${style}</style>
</head>
<body>
<div id="root"></div>
${REPORT_DATA_SLOT}
<script>${script}</script>
</body>
</html>
`;
      for (const name of Object.keys(bundle)) delete bundle[name];
      this.emitFile({ type: 'asset', fileName: 'report-template.html', source: html });
    },
  };
}

export default defineConfig({
  root,
  base: './',
  esbuild: { jsx: 'automatic' },
  plugins: [inlineReportTemplate()],
  build: {
    outDir: fileURLToPath(new URL('../../dist-ui/', import.meta.url)),
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: false,
    cssCodeSplit: false,
    modulePreload: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: fileURLToPath(new URL('./src/report-main.tsx', import.meta.url)),
      output: { format: 'iife', inlineDynamicImports: true, entryFileNames: 'report.js' },
    },
  },
});
