// The Electron shell's save (app/main/save-file.ts) without Electron: the dialog is a fake, the
// file is real. What the page sends is untrusted; a state file's bytes must land byte for byte.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { saveFromPage, type SaveDialogOptions, type SaveFileHost } from '../../app/main/save-file.js';

const dir = mkdtempSync(join(tmpdir(), 'resumescope-save-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A host whose dialog answers `answer` and records what it was asked. */
function host(answer: { canceled: boolean; filePath?: string }) {
  const asked: SaveDialogOptions[] = [];
  const written: string[] = [];
  const h: SaveFileHost = {
    showSaveDialog: async (options) => { asked.push(options); return answer; },
    writeFile: async (path, content) => { written.push(path); await writeFile(path, content); },
  };
  return { h, asked, written };
}

describe('Electron save from the page (main process side)', () => {
  it('writes a state file\'s bytes exactly, every byte value, and text as UTF-8', async () => {
    const bytes = Uint8Array.from({ length: 1024 }, (_, i) => (i * 37) & 0xff);
    const path = join(dir, 'series.state');
    const { h, asked } = host({ canceled: false, filePath: path });
    expect(await saveFromPage({ suggestedName: 'series.state', filter: { name: 'State', extensions: ['state'] }, content: bytes }, h)).toEqual({ saved: true, path });
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    expect(asked[0]).toEqual({ title: 'Export', defaultPath: 'series.state', filters: [{ name: 'State', extensions: ['state'] }] });
    const report = join(dir, 'report.html');
    await saveFromPage({ suggestedName: 'report.html', filter: { name: 'HTML report', extensions: ['html'] }, content: '<p>Résumé ✓</p>' }, host({ canceled: false, filePath: report }).h);
    expect(readFileSync(report, 'utf8')).toBe('<p>Résumé ✓</p>');
  });

  it('refuses anything but text or bytes, and writes nothing when the dialog is cancelled', async () => {
    for (const content of [null, 42, { length: 3 }, [1, 2, 3], new Uint16Array(2)]) {
      const { h, asked, written } = host({ canceled: false, filePath: join(dir, 'never') });
      expect(await saveFromPage({ suggestedName: 'x', filter: { name: 'x', extensions: ['x'] }, content }, h)).toEqual({ saved: false });
      expect(asked).toEqual([]);
      expect(written).toEqual([]);
    }
    for (const request of [null, undefined, 'content', 7]) expect(await saveFromPage(request, host({ canceled: false, filePath: join(dir, 'never') }).h)).toEqual({ saved: false });
    const cancelled = host({ canceled: true });
    expect(await saveFromPage({ suggestedName: 'a.json', filter: { name: 'JSON', extensions: ['json'] }, content: '{}' }, cancelled.h)).toEqual({ saved: false });
    expect(cancelled.written).toEqual([]);
  });

  it('suggests a file name only: a folder in the page\'s suggestion is dropped, a missing filter is "All files"', async () => {
    const names: string[] = [];
    for (const suggestedName of ['../../etc/passwd', '..\\..\\Windows\\report.html', '/tmp/x/out.csv', '', undefined]) {
      const { h, asked } = host({ canceled: true });
      await saveFromPage({ suggestedName, content: 'x' }, h);
      names.push(asked[0]!.defaultPath);
      expect(asked[0]!.filters).toEqual([{ name: 'All files', extensions: ['*'] }]);
    }
    expect(names).toEqual(['passwd', 'report.html', 'out.csv', 'resumescope-report.html', 'resumescope-report.html']);
  });
});
