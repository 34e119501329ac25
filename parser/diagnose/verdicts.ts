import { REASONS, type Reason } from './types.js';

/**
 * The verdict of each explained offer, in columns by offer row. Details repeat across offers
 * ("idle 15m12s > inferred idle timeout 15m00s"): each distinct text is kept once (half a million
 * rejections hold a few thousand strings, not half a million).
 */
export class Verdicts {
  /** 0: no verdict yet; else 1 + index in REASONS. */
  private readonly reasons: Uint8Array;
  private readonly details: Int32Array;
  private readonly texts: string[] = [];
  private readonly textIndex = new Map<string, number>();
  constructor(offers: number) {
    this.reasons = new Uint8Array(offers);
    this.details = new Int32Array(offers);
  }
  has(o: number): boolean {
    return this.reasons[o] !== 0;
  }
  set(o: number, reason: Reason, detail: string): void {
    let text = this.textIndex.get(detail);
    if (text === undefined) {
      text = this.texts.length;
      this.texts.push(detail);
      this.textIndex.set(detail, text);
    }
    if (!this.reasonsGiven.includes(reason)) this.reasonsGiven.push(reason);
    this.reasons[o] = 1 + REASONS.indexOf(reason);
    this.details[o] = text;
  }
  /** Takes the verdict back (a flush the limits did not confirm: its refusals are explained again). */
  clear(o: number): void {
    this.reasons[o] = 0;
  }
  reasonOf(o: number): Reason | null {
    const r = this.reasons[o]!;
    return r === 0 ? null : REASONS[r - 1]!;
  }
  /** The detail of an offer that has a verdict. */
  detailOf(o: number): string {
    return this.texts[this.details[o]!]!;
  }
  /** Reasons in the order they were first given since `startGroup` (the order of a group's reason counts). */
  readonly reasonsGiven: Reason[] = [];
  startGroup(): void {
    this.reasonsGiven.length = 0;
  }
}
