// A windowed list: only the rows in view (plus a margin) exist in the DOM, so a million rows scroll
// like a hundred. Browsers cap an element's height (~33.5M px in Chromium), so beyond MAX_SCROLL_PX
// the scrollbar maps proportionally onto the rows instead of one pixel per pixel.
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';

const MAX_SCROLL_PX = 8_000_000;
const OVERSCAN_ROWS = 8;

export interface VirtualListProps {
  rowCount: number;
  rowHeight: number;
  /** Renders row `index`, absolutely positioned by the list. */
  renderRow(index: number): ReactNode;
  /** The rows currently in view changed (for fetching pages). */
  onRangeChange?(first: number, last: number): void;
  selectedIndex: number | null;
  onSelect(index: number): void;
  ariaLabel: string;
  testId?: string;
}

export function VirtualList({ rowCount, rowHeight, renderRow, onRangeChange, selectedIndex, onSelect, ariaLabel, testId }: VirtualListProps) {
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);

  useLayoutEffect(() => {
    const element = viewport.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    setHeight(element.clientHeight);
    return () => observer.disconnect();
  }, []);

  const realHeight = rowCount * rowHeight;
  const spacerHeight = Math.min(realHeight, MAX_SCROLL_PX);
  // Position in "real" pixels for the current scrollbar position.
  const scrollable = Math.max(1, spacerHeight - height);
  const realTop = spacerHeight === realHeight ? scrollTop : (scrollTop / scrollable) * Math.max(0, realHeight - height);
  const first = Math.max(0, Math.floor(realTop / rowHeight) - OVERSCAN_ROWS);
  const last = Math.min(rowCount - 1, Math.ceil((realTop + height) / rowHeight) + OVERSCAN_ROWS);

  useEffect(() => {
    if (rowCount > 0) onRangeChange?.(first, last);
  }, [first, last, rowCount, onRangeChange]);

  // Keep the scroll position valid when the row count shrinks (a new filter).
  useEffect(() => {
    const element = viewport.current;
    if (element && element.scrollTop > spacerHeight) element.scrollTop = 0;
  }, [spacerHeight]);

  const scrollToIndex = useCallback((index: number) => {
    const element = viewport.current;
    if (!element) return;
    const top = index * rowHeight;
    let target = realTop;
    if (top < realTop) target = top;
    else if (top + rowHeight > realTop + height) target = top + rowHeight - height;
    if (target === realTop) return;
    element.scrollTop = spacerHeight === realHeight ? target : (target / Math.max(1, realHeight - height)) * scrollable;
  }, [rowHeight, realTop, height, spacerHeight, realHeight, scrollable]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (rowCount === 0) return;
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const current = selectedIndex ?? -1;
    let next: number | null = null;
    switch (e.key) {
      case 'ArrowDown': next = Math.min(rowCount - 1, current + 1); break;
      case 'ArrowUp': next = Math.max(0, current - 1); break;
      case 'PageDown': next = Math.min(rowCount - 1, current + page); break;
      case 'PageUp': next = Math.max(0, current - page); break;
      case 'Home': next = 0; break;
      case 'End': next = rowCount - 1; break;
      default: return;
    }
    e.preventDefault();
    onSelect(next);
    scrollToIndex(next);
  };

  const rowIdPrefix = `${testId ?? 'vlist'}-row-`;
  const rows: ReactNode[] = [];
  for (let i = first; i <= last; i++) {
    const top = spacerHeight === realHeight ? i * rowHeight : scrollTop + (i * rowHeight - realTop);
    rows.push(
      <div key={i} id={`${rowIdPrefix}${i}`} className="vrow-slot" style={{ top, height: rowHeight }} role="row" aria-rowindex={i + 2} aria-selected={i === selectedIndex}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div ref={viewport} className="vlist" tabIndex={0} role="grid" aria-label={ariaLabel} aria-rowcount={rowCount + 1} data-testid={testId}
      // The grid keeps the focus; a screen reader follows the selected row through this (it is
      // rendered while it is in view, and the keys scroll it into view).
      aria-activedescendant={selectedIndex !== null && selectedIndex >= first && selectedIndex <= last ? `${rowIdPrefix}${selectedIndex}` : undefined}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} onKeyDown={onKeyDown}>
      <div className="vlist-spacer" style={{ height: spacerHeight }}>{rows}</div>
    </div>
  );
}
