// Runs the whole portable pipeline in memory (no files): simulator → Analysis → diagnose.
import { Analysis } from '../../parser/analysis.js';
import { diagnose } from '../../parser/diagnose/diagnose.js';
import { clockStepsOf } from '../../parser/diagnose/clock-segments.js';
import type { Diagnosis } from '../../parser/diagnose/types.js';
import { buildDocument, numberConnections } from '../../parser/report/document.js';
import type { AnalysisDocument, ConnectionRecord } from '../../parser/report/types.js';
import { simulateFarm, type FarmConfigInput, type GroundTruth } from '../../fixtures/simulator/farm.js';
import { presetConfig, type PresetName } from '../../fixtures/simulator/presets.js';

export interface PipelineResult {
  document: AnalysisDocument;
  diagnosis: Diagnosis;
  connections: ConnectionRecord[];
}

/** Analyse capture bytes given as chunks (as a file reader would deliver them). */
export function analyzeChunks(fileName: string, chunks: Iterable<Uint8Array>): PipelineResult {
  const connections: ConnectionRecord[] = [];
  const analysis = new Analysis((c) => connections.push(c));
  const ingest = analysis.openFile(fileName);
  for (const chunk of chunks) ingest.push(chunk);
  ingest.finish();
  analysis.finish();
  numberConnections(connections);
  // As the CLI and the app: no session followed across a step back of a file's clock.
  const diagnosis = diagnose(connections, { clockSteps: clockStepsOf(analysis.captures) });
  const document = buildDocument(analysis.captures, connections, {
    servers: diagnosis.servers, clients: diagnosis.clients, findings: diagnosis.findings, whatIf: diagnosis.whatIf,
  });
  return { document, diagnosis, connections };
}

/** Simulate a preset and analyse it as it is written. */
export function simulateAndAnalyze(preset: PresetName, scale = 1, seed = 1): PipelineResult & { truth: GroundTruth; bytes: number } {
  return simulateConfigAndAnalyze(presetConfig(preset, scale, seed), `${preset}.pcap`);
}

/** The same for a farm of one's own (FarmConfigInput). */
export function simulateConfigAndAnalyze(config: FarmConfigInput, name = 'farm.pcap'): PipelineResult & { truth: GroundTruth; bytes: number } {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const truth = simulateFarm(config, (chunk) => {
    // The writer may reuse its buffer: keep a copy.
    chunks.push(chunk.slice());
    bytes += chunk.length;
  });
  return { ...analyzeChunks(name, chunks), truth, bytes };
}
