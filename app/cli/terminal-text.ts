// Text from a capture (an SNI, a group name made of it, a file name) printed on a terminal: control
// characters in it would be executed by the terminal, not shown (ESC [31m recolours the rest, a CR
// or LF forges a line of the summary). Each one is written as a visible escape instead.

/** C0 controls, DEL and C1 controls (ECMA-48 §5: what a terminal acts on), and the line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}
