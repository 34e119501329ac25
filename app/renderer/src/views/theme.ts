// Chart colours per theme. SVG presentation attributes do not resolve CSS variables reliably,
// so charts get concrete colours from here; the rest of the page uses the CSS variables.
import type { Outcome } from '../../../../parser/report/report-model.js';

export type ThemeName = 'light' | 'dark';

export interface ChartPalette {
  text: string;
  muted: string;
  grid: string;
  surface: string;
  reference: string;
  outcome: Record<Outcome, string>;
  accepted: string;
  rejected: string;
}

// Blue vs orange for accepted vs rejected: distinguishable with the common colour-vision deficiencies.
const OUTCOME: Record<Outcome, string> = {
  resumed: '#2b83ba',
  rejected: '#e8590c',
  full: '#8d99ae',
  aborted: '#9c4fd0',
  incomplete: '#c9a227',
};

export const PALETTES: Record<ThemeName, ChartPalette> = {
  light: { text: '#1d2330', muted: '#5b6474', grid: '#e3e7ee', surface: '#ffffff', reference: '#c92a2a', outcome: OUTCOME, accepted: OUTCOME.resumed, rejected: OUTCOME.rejected },
  dark: { text: '#e6e9ef', muted: '#a3acbb', grid: '#2c3340', surface: '#1b2029', reference: '#ff8787', outcome: { ...OUTCOME, resumed: '#4ba3d9', full: '#7d8aa0' }, accepted: '#4ba3d9', rejected: '#ff7a2e' },
};
