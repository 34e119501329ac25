// Command-line parsing with no dependency: resumescope has few options and wants exact errors.

import { parseConnectionFilter } from '../../parser/report/failure-export.js';

export interface AnalyzeArgs {
  command: 'analyze';
  inputs: string[];
  json: string | null;
  ndjson: string | null;
  csv: string | null;
  report: string | null;
  pcapngOut: string | null;
  pcapngFilter: string | null;
  progress: 'auto' | 'always' | 'never';
  quiet: boolean;
  /** Worker threads for several files; null = one per core but one (defaultJobs), with --each one per core. */
  jobs: number | null;
  /** --each: every capture is an analysis of its own, outputs named by EACH_NAME in their paths. */
  each: boolean;
  /** --state: sessions carried in from this file (when it exists) and the updated ones written back. */
  state: string | null;
}

/** Stands for the capture's name (without its extension) in an output path with --each. */
export const EACH_NAME = '{name}';

/** Every output option of an analysis with its path (null: not asked for). */
export function outputsOf(args: AnalyzeArgs): [flag: string, path: string | null][] {
  return [['--json', args.json], ['--ndjson', args.ndjson], ['--csv', args.csv], ['--report', args.report], ['--pcapng-out', args.pcapngOut]];
}

export interface UiArgs {
  command: 'ui';
  inputs: string[];
  port: number;
  open: boolean;
}

/** `usage`: no command at all; the help goes to stderr with exit status 2, as for any usage error. */
export type Args = AnalyzeArgs | UiArgs | { command: 'help'; topic?: string; usage?: boolean } | { command: 'version' };

export class UsageError extends Error {}

export const HELP = `resumescope — why TLS session resumption fails, from packet captures

Usage:
  resumescope analyze <capture files or folders…> [options]
  resumescope ui [capture files…] [state file] [--port N] [--no-open]
  resumescope --help | --version

analyze reads pcap / pcapng captures (also .gz; "-" reads stdin; pipes too), follows every
TLS connection and session, and prints a summary. Several files are one analysis. Mirrors'
tunnels (VXLAN, Geneve, GRE/ERSPAN, MPLS, IP in IP) are opened, and a load balancer's PROXY
protocol header names the client a connection is from.

ui opens the same analysis in your browser (127.0.0.1 only), on the files given if any; a
.state file among them (written by --state or the page's Save sessions) carries its sessions in.

Options for analyze:
  --json FILE          write the whole analysis as one JSON document (docs/schema.json)
  --ndjson FILE        stream one JSON connection record per line
  --csv FILE           write connections as a flat CSV table
  --report FILE        write a self-contained HTML report
  --pcapng-out FILE    write the packets of failed/aborted connections as annotated pcapng
  --pcapng-filter EXPR which connections --pcapng-out keeps: failed (default), aborted,
                       rejected, all, reason=<reason>, server=<ip[:port]>; comma-separated = any
  --progress           always show the progress bar on stderr (into a file or a
                       pipe: a line every 2 s)
  --no-progress        never show it (default: only when stderr is a terminal)
  -j, --jobs N         worker threads for several files (default: one per core but one); with
                       more than one, a connection that spans two files ends with the first
  --each               analyse every capture on its own, several at once (default: one per
                       core, fewer if memory is short): a summary and outputs per capture,
                       {name} in each output path standing for the capture's name, e.g.
                       --json out/{name}.json. For unrelated captures; the files of one
                       rotated capture are one analysis
  --state FILE         carry sessions from one analysis to the next: read FILE if it exists
                       (sessions the earlier analyses ended with), write it back updated.
                       For captures cut into files analysed one at a time, in time order
                       (a session issued an hour ago is then known, with its age)
  -q, --quiet          print no summary
  -h, --help           this text
  -V, --version        the version

An output FILE may be "-": standard output (one output at most; the summary then goes
to standard error). An output may not be one of the inputs or another output's file.

Exit status: 0 all input analysed (anomalies are warnings); 1 some input could not
be read but some could; 2 bad usage, nothing could be read, or an output cannot be
written.
`;

export function parseArgs(argv: string[]): Args {
  if (argv.length === 0) return { command: 'help', usage: true };
  const [first, ...rest] = argv;
  if (first === '-h' || first === '--help' || first === 'help') return { command: 'help' };
  if (first === '-V' || first === '--version') return { command: 'version' };
  if (first === 'ui') return parseUi(rest);
  if (first === 'analyze') return parseAnalyze(rest);
  throw new UsageError(`unknown command "${first}" (try: resumescope analyze <capture>)`);
}

function parseAnalyze(argv: string[]): AnalyzeArgs | { command: 'help' } {
  const args: AnalyzeArgs = {
    command: 'analyze', inputs: [], json: null, ndjson: null, csv: null, report: null,
    pcapngOut: null, pcapngFilter: null, progress: 'auto', quiet: false, jobs: null, each: false, state: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const [flag, inline] = splitInline(arg);
      if (inline !== null) return inline;
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      // "-" alone is standard input/output; anything else starting with "-" is an option the user
      // meant as such ("--json -o out.json" must not write a file named "-o").
      if (next.startsWith('-') && next !== '-') {
        throw new UsageError(`${flag} needs a value, not the option ${next} (a file named so: ./${next})`);
      }
      return next;
    };
    const flag = splitInline(arg)[0];
    switch (flag) {
      case '--json': args.json = value(); break;
      case '--ndjson': args.ndjson = value(); break;
      case '--csv': args.csv = value(); break;
      case '--report': args.report = value(); break;
      case '--pcapng-out': args.pcapngOut = value(); break;
      case '--pcapng-filter': args.pcapngFilter = value(); break;
      case '--progress': args.progress = 'always'; break;
      case '--no-progress': args.progress = 'never'; break;
      case '-q': case '--quiet': args.quiet = true; break;
      case '--each': args.each = true; break;
      case '--state': args.state = value(); break;
      case '-j': case '--jobs': {
        const text = value();
        const jobs = Number(text);
        if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) throw new UsageError(`--jobs needs a whole number from 1 to 256, not "${text}"`);
        args.jobs = jobs;
        break;
      }
      case '-h': case '--help': return { command: 'help' };
      default:
        if (arg.startsWith('-') && arg !== '-') throw new UsageError(unknownOption(arg, ANALYZE_OPTIONS));
        args.inputs.push(arg);
    }
  }
  if (args.inputs.length === 0) throw new UsageError('analyze needs at least one capture file or folder');
  if (args.inputs.filter((p) => p === '-').length > 1) throw new UsageError('stdin ("-") can be read only once');
  checkEachOutputs(args);
  if (args.state !== null && args.each) throw new UsageError('--state carries sessions from one analysis to the next; --each analyses captures apart (give the files of one capture without --each)');
  if (args.state === '-') throw new UsageError('--state needs a file: it is read, then written back');
  if (args.pcapngFilter !== null) {
    // Before the analysis, not after it: a filter that cannot work should not cost the run.
    if (args.pcapngOut === null) throw new UsageError('--pcapng-filter chooses what --pcapng-out keeps: give --pcapng-out FILE too');
    try {
      parseConnectionFilter(args.pcapngFilter);
    } catch (e) {
      throw new UsageError(`--pcapng-filter: ${(e as Error).message}`);
    }
  }
  return args;
}

/**
 * With --each every output path must name its capture ({name}), or the captures would overwrite
 * each other's outputs; without it, {name} would be taken literally, which is surely a mistake.
 * Standard input and output are one stream each, not one per capture.
 */
function checkEachOutputs(args: AnalyzeArgs): void {
  for (const [flag, path] of outputsOf(args)) {
    if (path === null) continue;
    if (!args.each && path.includes(EACH_NAME)) throw new UsageError(`${flag} ${path}: ${EACH_NAME} in an output path needs --each (one analysis per capture)`);
    if (args.each && path === '-') throw new UsageError(`${flag} -: with --each every capture writes its own ${flag.slice(2)}; standard output cannot take them (use a path with ${EACH_NAME})`);
    if (args.each && !path.includes(EACH_NAME)) throw new UsageError(`${flag} ${path}: with --each every capture writes its own ${flag.slice(2)}; put ${EACH_NAME} in the path (e.g. ${exampleEachPath(flag)})`);
  }
  if (args.each && args.inputs.includes('-')) throw new UsageError('--each reads captures from files and folders, not stdin ("-")');
}

function exampleEachPath(flag: string): string {
  const extension: Record<string, string> = { '--json': 'json', '--ndjson': 'ndjson', '--csv': 'csv', '--report': 'html', '--pcapng-out': 'pcapng' };
  return `out/${EACH_NAME}.${extension[flag] ?? 'out'}`;
}

function parseUi(argv: string[]): UiArgs | { command: 'help' } {
  const args: UiArgs = { command: 'ui', inputs: [], port: 0, open: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = splitInline(arg);
    switch (flag) {
      case '--port': {
        const text = inline ?? argv[++i];
        const port = Number(text);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port needs a number 0-65535, not "${text ?? ''}"`);
        args.port = port;
        break;
      }
      case '--no-open': args.open = false; break;
      case '-h': case '--help': return { command: 'help' };
      default:
        if (arg.startsWith('-')) throw new UsageError(unknownOption(arg, UI_OPTIONS));
        args.inputs.push(arg);
    }
  }
  return args;
}

const ANALYZE_OPTIONS = ['--json', '--ndjson', '--csv', '--report', '--pcapng-out', '--pcapng-filter', '--progress', '--no-progress', '--quiet', '--each', '--state', '--jobs', '--help'];
const UI_OPTIONS = ['--port', '--no-open', '--help'];

/** "unknown option --jsn (did you mean --json?)": the nearest option within two typed characters. */
function unknownOption(arg: string, options: readonly string[]): string {
  const flag = splitInline(arg)[0];
  let nearest: string | null = null;
  let best = 3;
  for (const option of options) {
    const distance = editDistance(flag, option);
    if (distance < best) {
      best = distance;
      nearest = option;
    }
  }
  return `unknown option ${flag}${nearest === null ? '' : ` (did you mean ${nearest}?)`}`;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

function splitInline(arg: string): [string, string | null] {
  const eq = arg.indexOf('=');
  if (arg.startsWith('--') && eq > 0) return [arg.slice(0, eq), arg.slice(eq + 1)];
  return [arg, null];
}
